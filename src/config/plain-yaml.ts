import { constructFromEvents, CORE_SCHEMA, EVENT_ID, parseEvents, SCALAR_STYLE, type Event } from 'js-yaml';

/**
 * The fast reader of swarm files: js-yaml, about five times quicker than the `yaml`
 * package's document API on a big file, and with far less garbage. It yields plain data
 * and no positions, so it serves only the happy path: the loader falls back to the
 * document API (which places every error at file:line:col) whenever this returns
 * undefined or the data it returns has any problem.
 *
 * It must never accept a file with a meaning different from the one the `yaml` package
 * gives it, so it answers only for the plain subset the two read alike (YAML 1.2, core
 * schema) and gives up on everything else: directives (`%YAML 1.1` changes what `yes`
 * means), explicit tags, merge keys, keys that are not strings (`null:` is "" to one and
 * "null" to the other), aliases (so no alias bomb reaches the walk of the data), complex
 * keys, duplicate keys, more than one document, and anything js-yaml itself refuses.
 * `test/config/plain-yaml.test.ts` compares the two readers on a corpus of tricky inputs.
 */
export function readPlainYaml(text: string): { value: unknown } | undefined {
  try {
    const events = parseEvents(text, {});
    if (!plainEvents(events, text)) return undefined;
    // maxAliases 0 is a second lock on the door plainEvents already shut.
    const docs = constructFromEvents(events, { source: text, schema: CORE_SCHEMA, maxAliases: 0 });
    if (docs.length !== 1) return undefined;
    return { value: docs[0] };
  } catch {
    // Whatever js-yaml throws (syntax, duplicate or complex keys, depth, stack overflow),
    // the document API will read the file again and say what is wrong, and where.
    return undefined;
  }
}

/** Plain scalars the core schema reads as null, a boolean or a number. */
const NOT_A_STRING =
  /^(?:|~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

function plainEvents(events: readonly Event[], text: string): boolean {
  // For each open collection: whether it is a mapping, and how many children it has had
  // (in a mapping, the even ones are keys).
  const mapping: boolean[] = [];
  const children: number[] = [];
  for (const event of events) {
    if (event.type === EVENT_ID.POP) {
      mapping.pop();
      children.pop();
      continue;
    }
    const depth = mapping.length - 1;
    const isKey = depth >= 0 && mapping[depth] === true && children[depth]! % 2 === 0;
    if (depth >= 0) children[depth]!++;
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        if (event.directives.length > 0) return false;
        mapping.push(false);
        children.push(0);
        break;
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING:
        if (event.tagStart >= 0) return false;
        mapping.push(event.type === EVENT_ID.MAPPING);
        children.push(0);
        break;
      case EVENT_ID.SCALAR: {
        if (event.tagStart >= 0) return false;
        if (!isKey || event.style !== SCALAR_STYLE.PLAIN) break;
        const value = text.slice(event.valueStart, event.valueEnd);
        // A plain `<<` key is a merge key to the document API (with its own rules about
        // what may follow) and an ordinary string to js-yaml's core schema.
        if (value === '<<') return false;
        // Null, boolean and number keys become object keys by two different spellings
        // (`null:` is "" to one reader and "null" to the other).
        if (NOT_A_STRING.test(value)) return false;
        break;
      }
      case EVENT_ID.ALIAS:
        return false;
      default:
        break;
    }
  }
  return true;
}
