/**
 * The template documents in the store and their codecs (see
 * docs/store-documents.md): a role's Ignition version list, each Ignition
 * template version, and each text template.
 */
import { z } from 'zod';
import { rfc3339 } from '../../inventory/model.js';
import { jsonCodec } from '../../store/codec.js';
import { versionProblem } from './versions.js';

export const ignitionIndexKey = (role: string) => `ignitions/${role}`;
export const ignitionKey = (role: string, id: string) => `ignitions/${role}/${id}`;
export const textPrefix = (role: string) => `templates/${role}/`;
export const textKey = (role: string, name: string) => `${textPrefix(role)}${name}`;

/** What an Ignition template upload carries (PUT /api/v1/ignitions/:role/:id). */
export const ignitionUpload = z.strictObject({
  template: z.record(z.string(), z.unknown()),
  meta: z.record(z.string(), z.unknown()).optional(),
});

/** ignitions/<role>: the role's version IDs, oldest first. */
export const ignitionIndexCodec = jsonCodec(
  'Ignition version list',
  z.array(z.string().refine((id) => versionProblem(id) === undefined, 'is not a version ID')),
);

/** ignitions/<role>/<id>: one version, as uploaded, with when. */
export const ignitionCodec = jsonCodec(
  'Ignition template',
  z.strictObject({ template: ignitionUpload.shape.template, meta: ignitionUpload.shape.meta.unwrap(), created: rfc3339 }),
);

/** templates/<role>/<name>: a text template and when it was last set. */
export const textCodec = jsonCodec('text template', z.strictObject({ text: z.string(), updated: rfc3339 }));
