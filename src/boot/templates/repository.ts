/**
 * Configuration templates on the Store. Ignition templates are versioned per
 * role (ignitions/<role>/<id>, with the role's ID list, oldest first, in
 * ignitions/<role>); text templates (cloud-init and the like) are named per
 * role (templates/<role>/<name>) and a PUT replaces them. Every change is one
 * transaction with its audit record; the ID list is compare-and-swapped, so
 * concurrent uploads on several servers never keep more than KEEP_VERSIONS.
 * Stored values are read through their codecs (documents.ts): a corrupt or
 * foreign one is a CorruptDocumentError naming its key (HTTP 500).
 */
import { hostname } from 'node:os';
import { type Actor, auditOp, type AuditEntry } from '../../inventory/audit.js';
import { conflict, DomainError, invalid, isKind, notFound, tooLarge } from '../../lib/errors.js';
import type { Inventory } from '../../inventory/inventory.js';
import type { IpamConfig, Machine } from '../../inventory/model.js';
import { readDocument, transact } from '../../store/document.js';
import { keyMissing, type Store, type TxnOp } from '../../store/interface.js';
import { labelsReferenced, machineContext, sampleMachine, type TemplateMeta } from './context.js';
import { ignitionCodec, ignitionIndexCodec, ignitionIndexKey, ignitionKey, textCodec, textKey, textPrefix } from './documents.js';
import { TemplateError } from './errors.js';
import { IGNITION_VALIDATE, type IgnitionValidator, ignitionValidator, type ValidationReport } from './ignition-validate.js';
import { jsonExpressions, renderJson, renderText, textExpressions } from './render.js';
import { newestVersion, planVersionAdd, versionProblem } from './versions.js';

/** Largest stored template (its JSON with metadata, or its text). */
export const MAX_TEMPLATE_BYTES = 1 << 20;

export interface IgnitionTemplate {
  role: string;
  id: string;
  /** The Ignition config with placeholders, as uploaded. */
  template: Record<string, unknown>;
  meta: TemplateMeta;
  created: string;
}

export interface TextTemplate {
  role: string;
  name: string;
  text: string;
  updated: string;
}

export interface UploadResult {
  /** The validator's warnings about the test-rendered config (e.g. unused keys). */
  warnings: string[];
}

export interface TemplateStoreOptions {
  /** Where the sample machine for upload checks gets its addresses (the configured IPAM); else SAMPLE_IPAM. */
  inventory?: Inventory;
  /** Checks rendered Ignition configs; by default /usr/bin/ignition-validate. */
  validator?: IgnitionValidator;
  now?: () => Date;
}

export class TemplateRepository {
  private readonly validator: IgnitionValidator;
  private readonly now: () => Date;
  private readonly host = hostname();

  constructor(
    private readonly store: Store,
    private readonly options: TemplateStoreOptions = {},
  ) {
    this.validator = options.validator ?? ignitionValidator(IGNITION_VALIDATE);
    this.now = options.now ?? (() => new Date());
  }

  // ---- Ignition templates ----

  /** The role's template IDs, oldest version first. */
  async listIgnitions(role: string): Promise<string[]> {
    return (await readDocument(this.store, ignitionIndexKey(role), ignitionIndexCodec))?.value ?? [];
  }

  /** The ID machines of `role` boot: the highest version. Plug into BootSources.newestTemplate. */
  readonly newestTemplate = async (role: string): Promise<string | undefined> => newestVersion(await this.listIgnitions(role));

  async getIgnition(role: string, id: string): Promise<IgnitionTemplate> {
    const found = await readDocument(this.store, ignitionKey(role, id), ignitionCodec);
    if (!found) throw notFound(`Ignition template ${id} of role ${role}`);
    return { role, id, ...found.value };
  }

  /**
   * Adds version `id` of the role's template after test-rendering it for a
   * sample machine and checking the result with ignition-validate; pushes out
   * the oldest versions beyond KEEP_VERSIONS in the same transaction.
   */
  async putIgnition(
    role: string,
    id: string,
    upload: { template: Record<string, unknown>; meta?: TemplateMeta },
    apiUrl: string,
    actor: Actor,
  ): Promise<UploadResult> {
    const problem = versionProblem(id);
    if (problem) throw invalid(problem, 'id');
    const meta = upload.meta ?? {};
    // Encoded (and checked) once, outside the retry loop: it can be a megabyte.
    const value = ignitionCodec.encode(ignitionKey(role, id), {
      template: upload.template,
      meta,
      created: this.now().toISOString(),
    });
    if (Buffer.byteLength(value) > MAX_TEMPLATE_BYTES)
      throw tooLarge(`the template and its metadata are over ${MAX_TEMPLATE_BYTES} bytes`, 'template');
    const warnings = await this.checkIgnition(role, upload.template, meta, apiUrl);
    await transact(this.store, async (tx) => {
      const plan = planVersionAdd((await tx.get(ignitionIndexKey(role), ignitionIndexCodec)) ?? [], id);
      if (plan.kind === 'conflict') throw conflict(plan.message, 'id');
      tx.require(keyMissing(ignitionKey(role, id)), () =>
        conflict(`version ${id} exists; IDs are immutable: upload a higher version`, 'id'),
      );
      tx.add({ type: 'put', key: ignitionKey(role, id), value });
      tx.put(ignitionIndexKey(role), ignitionIndexCodec, plan.ids);
      tx.add(
        ...plan.pruned.map((old): TxnOp => ({ type: 'delete', key: ignitionKey(role, old) })),
        this.audit(actor, {
          category: 'ignitions',
          instance: `${role}/${id}`,
          action: 'put',
          detail: plan.pruned.length > 0 ? `pruned ${plan.pruned.join(',')}` : '',
        }),
      );
    });
    return { warnings };
  }

  /** Removes a version; removing the highest rolls the role back to the one before. */
  async deleteIgnition(role: string, id: string, actor: Actor): Promise<void> {
    await transact(this.store, async (tx) => {
      const ids = (await tx.get(ignitionIndexKey(role), ignitionIndexCodec)) ?? [];
      if (!ids.includes(id)) throw notFound(`Ignition template ${id} of role ${role}`);
      const rest = ids.filter((other) => other !== id);
      tx.delete(ignitionKey(role, id));
      if (rest.length > 0) tx.put(ignitionIndexKey(role), ignitionIndexCodec, rest);
      else tx.delete(ignitionIndexKey(role));
      tx.add(
        this.audit(actor, {
          category: 'ignitions',
          instance: `${role}/${id}`,
          action: 'delete',
          detail: `machines now boot ${newestVersion(rest) ?? 'no template'}`,
        }),
      );
    });
  }

  /** Version `id` of the machine's role, rendered for it; TemplateError when the machine lacks what it needs. */
  async renderIgnition(machine: Machine, id: string, apiUrl: string): Promise<unknown> {
    const role = machine.spec.role;
    const found = await readDocument(this.store, ignitionKey(role, id), ignitionCodec);
    if (!found) {
      const ids = await this.listIgnitions(role);
      throw new DomainError(
        'not-found',
        `Ignition template ${id} of role ${role} (machine ${machine.spec.serial}) not found; the role has ${ids.length > 0 ? ids.join(', ') : 'no templates'}`,
      );
    }
    const { template, meta } = found.value;
    return renderJson(template, machineContext(machine, apiUrl, meta));
  }

  // ---- text templates ----

  /** The role's text template names, sorted. */
  async listTexts(role: string): Promise<string[]> {
    const range = await this.store.range({ prefix: textPrefix(role), keysOnly: true });
    return range.kvs.map((kv) => kv.key.slice(textPrefix(role).length)).sort();
  }

  async getText(role: string, name: string): Promise<TextTemplate> {
    const found = await readDocument(this.store, textKey(role, name), textCodec);
    if (!found) throw notFound(`text template ${name} of role ${role}`);
    return { role, name, ...found.value };
  }

  /** Sets (or replaces) a text template after test-rendering it for a sample machine; true when it replaced one. */
  async putText(role: string, name: string, text: string, apiUrl: string, actor: Actor): Promise<boolean> {
    if (Buffer.byteLength(text) > MAX_TEMPLATE_BYTES)
      throw tooLarge(`the template is over ${MAX_TEMPLATE_BYTES} bytes`, 'template');
    await this.checkText(role, text, apiUrl);
    const value = textCodec.encode(textKey(role, name), { text, updated: this.now().toISOString() });
    const result = await this.store.txn({
      success: [
        { type: 'range', key: textKey(role, name), keysOnly: true },
        { type: 'put', key: textKey(role, name), value },
        this.audit(actor, { category: 'ignitions', instance: `${role}/${name}`, action: 'put-text', detail: '' }),
      ],
    });
    const before = result.results[0];
    return before?.type === 'range' && before.kvs.length > 0;
  }

  async deleteText(role: string, name: string, actor: Actor): Promise<void> {
    const result = await this.store.txn({
      compare: [{ key: textKey(role, name), target: 'version', result: '>', value: 0 }],
      success: [
        { type: 'delete', key: textKey(role, name) },
        this.audit(actor, { category: 'ignitions', instance: `${role}/${name}`, action: 'delete-text', detail: '' }),
      ],
    });
    if (!result.succeeded) throw notFound(`text template ${name} of role ${role}`);
  }

  /** The machine role's text template `name`, rendered for it (meta is empty for text templates). */
  async renderText(machine: Machine, name: string, apiUrl: string): Promise<string> {
    const found = await readDocument(this.store, textKey(machine.spec.role, name), textCodec);
    if (!found) throw notFound(`text template ${name} of role ${machine.spec.role} (machine ${machine.spec.serial})`);
    const { text } = found.value;
    return renderText(text, machineContext(machine, apiUrl, {}));
  }

  // ---- upload checks ----

  /** Test-renders for a sample machine and runs the validator; returns its warnings, throws a 400 naming the field. */
  private async checkIgnition(
    role: string,
    template: Record<string, unknown>,
    meta: TemplateMeta,
    apiUrl: string,
  ): Promise<string[]> {
    const ipam = await this.currentIpam();
    const config = asInvalid(() => {
      const labels = labelsReferenced(jsonExpressions(template));
      return renderJson(template, machineContext(sampleMachine(role, labels, ipam, this.now()), apiUrl, meta));
    });
    const report = await this.validator(JSON.stringify(config, null, 2));
    if (!report.valid) throw validationError(report, config);
    return report.problems.filter((p) => p.severity !== 'error').map((p) => p.message);
  }

  private async checkText(role: string, text: string, apiUrl: string): Promise<void> {
    const ipam = await this.currentIpam();
    asInvalid(() => {
      const labels = labelsReferenced(textExpressions(text));
      return renderText(text, machineContext(sampleMachine(role, labels, ipam, this.now()), apiUrl, {}));
    });
  }

  private async currentIpam(): Promise<IpamConfig | undefined> {
    if (!this.options.inventory) return undefined;
    try {
      return await this.options.inventory.config.getIpam();
    } catch (error) {
      if (isKind(error, 'not-found')) return undefined;
      throw error;
    }
  }

  // ---- internals ----

  private audit(actor: Actor, entry: AuditEntry): TxnOp {
    return auditOp(entry, actor, this.host, this.now());
  }
}

/** A TemplateError from an upload check is the uploader's mistake: 400, naming the template field. */
function asInvalid<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof TemplateError) throw invalid(`template ${error.message}`, error.field || 'template');
    throw error;
  }
}

function validationError(report: ValidationReport, config: unknown): DomainError {
  const errors = report.problems.filter((p) => p.severity === 'error');
  const first = errors[0] ?? report.problems[0];
  const version = (config as { ignition?: { version?: unknown } }).ignition?.version;
  // Configs the validator cannot parse (e.g. spec 2.x) come without a location; name the version when it is the culprit.
  const versionProblem = typeof version !== 'string' || /config version/i.test(first?.message ?? '');
  const field = first?.pointer || (versionProblem ? '/ignition/version' : 'template');
  const messages = errors.map((p) => p.message).join('; ');
  return invalid(`the template rendered for a sample machine fails ignition-validate: ${messages}`, field);
}
