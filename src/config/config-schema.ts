/**
 * The whole config file of `switchyard serve`, as one zod definition: the runtime
 * validation, the {@link SwitchyardConfig} type and the shipped `schema.json` all come from
 * {@link configSchema}, so they cannot drift. Checks across sections (a listener's pool
 * exists, no two listeners share an address, …) are in `cross-checks.ts`: JSON Schema
 * cannot say them, and they run even when other parts of the file are wrong.
 * @internal
 */
import { z } from 'zod';
import { dashboardSchema, listenerSchema } from './listener-schema.js';
import { poolSchema } from './pool-schema.js';
import { strict } from './rules.js';

/** The config file's definition (checks across sections are in `cross-checks.ts`). */
export const configSchema = strict(
  {
    $schema: z.string().describe('The JSON Schema of this file, for editors.').optional(),
    pools: z
      .record(z.string(), poolSchema, { error: 'must be an object of pools by name' })
      .describe('The pools, by name.'),
    listeners: z
      .array(listenerSchema, { error: 'must be an array of listeners' })
      .describe('Where clients connect: HTTP and TCP listeners, each in front of a pool.')
      .optional(),
    dashboard: dashboardSchema.optional(),
  },
  'A switchyard load balancer: pools, listeners and the dashboard.',
);

/** A config file, validated: the type of {@link configSchema}'s output. */
export type SwitchyardConfig = z.infer<typeof configSchema>;
