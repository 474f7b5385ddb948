/**
 * The `selector` of a pool in the config: a selector's name in kebab case, or
 * `{ type, …options }` with the options of that class (`RingHash`, `Maglev`, `Rendezvous`).
 * @internal
 */
import { z } from 'zod';
import { num, oneOf, strict } from './rules.js';

const keyCacheSize = num(
  'Keys remembered with their endpoint, from 0 (no cache) to 2^20. Default 4096.',
  {
    min: 0,
    max: 1_048_576,
    integer: true,
  },
).optional();

const isPrime = (n: number): boolean => {
  if (n < 2 || !Number.isInteger(n)) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
};

/** Selector names: the classes' names in kebab case. */
export const SELECTOR_NAMES = [
  'round-robin',
  'weighted-round-robin',
  'random',
  'weighted-random',
  'least-connections',
  'power-of-two-choices',
  'peak-ewma',
  'ring-hash',
  'maglev',
  'rendezvous',
] as const;

/** A selector name in kebab case. */
export type SelectorName = (typeof SELECTOR_NAMES)[number];

const plain = (name: Exclude<SelectorName, 'ring-hash' | 'maglev' | 'rendezvous'>) =>
  strict({ type: z.literal(name) }, `The ${name} selector; it has no options here.`);

const selectorObject = z
  .discriminatedUnion(
    'type',
    [
      plain('round-robin'),
      plain('weighted-round-robin'),
      plain('random'),
      plain('weighted-random'),
      plain('least-connections'),
      plain('power-of-two-choices'),
      plain('peak-ewma'),
      strict(
        {
          type: z.literal('ring-hash'),
          vnodes: num('Virtual nodes per unit of weight. Default 160.', {
            min: 1,
            max: 65_536,
            integer: true,
          }).optional(),
          loadFactor: num(
            'Bounded loads: no endpoint takes more than loadFactor times the mean in flight. Default: no bound.',
            {
              min: 1,
              minExclusive: true,
            },
          ).optional(),
          keyCacheSize,
        },
        'Consistent hashing on a ring of virtual nodes.',
      ),
      strict(
        {
          type: z.literal('maglev'),
          tableSize: num(
            'Size of the lookup table: a prime greater than the number of endpoints. Default 65537.',
            {
              min: 2,
              max: 16_777_216,
              integer: true,
            },
          )
            .refine(isPrime, { error: 'must be a prime number' })
            .optional(),
          keyCacheSize,
        },
        'Maglev consistent hashing (a lookup table).',
      ),
      strict({ type: z.literal('rendezvous'), keyCacheSize }, 'Highest-random-weight hashing.'),
    ],
    { error: `must be one of ${SELECTOR_NAMES.map((n) => `"${n}"`).join(', ')}` },
  )
  .describe('A selector with options: { "type": "ring-hash", "vnodes": 320 }.');

/** `selector`: a name, or `{ type, ...options }`. */
export const selectorSchema = z
  .union([oneOf(SELECTOR_NAMES, 'A selector by name.'), selectorObject], {
    error: 'must be a selector name or an object with a type',
  })
  .describe('The strategy that picks an endpoint. Default "power-of-two-choices".');

/** A selector as written in the file. */
export type SelectorConfig = z.infer<typeof selectorSchema>;
