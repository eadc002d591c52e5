/**
 * Configuration templates on the Store. Ignition templates are versioned per
 * role (ignitions/<role>/<id>, with the role's ID list, oldest first, in
 * ignitions/<role>); text templates (cloud-init and the like) are named per
 * role (templates/<role>/<name>) and a PUT replaces them. Every change is one
 * transaction with its audit record; the ID list is compare-and-swapped, so
 * concurrent uploads on several servers never keep more than KEEP_VERSIONS.
 */
import { hostname } from 'node:os';
import { type Actor, auditOp, type AuditEntry } from '../../inventory/audit.js';
import { conflict, DomainError, invalid, isKind, notFound, tooLarge, unavailable } from '../../lib/errors.js';
import type { Inventory } from '../../inventory/inventory.js';
import type { IpamConfig, Machine } from '../../inventory/model.js';
import { keyMissing, keyUnchanged, type Store, type TxnOp } from '../../store/interface.js';
import { labelsReferenced, machineContext, sampleMachine, type TemplateMeta } from './context.js';
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

const ignitionIndexKey = (role: string) => `ignitions/${role}`;
const ignitionKey = (role: string, id: string) => `ignitions/${role}/${id}`;
const textPrefix = (role: string) => `templates/${role}/`;
const textKey = (role: string, name: string) => `${textPrefix(role)}${name}`;
const MAX_ATTEMPTS = 100;

export class TemplateStore {
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
    const kv = await this.store.get(ignitionIndexKey(role));
    return kv ? (JSON.parse(kv.value) as string[]) : [];
  }

  /** The ID machines of `role` boot: the highest version. Plug into BootSources.newestTemplate. */
  readonly newestTemplate = async (role: string): Promise<string | undefined> => newestVersion(await this.listIgnitions(role));

  async getIgnition(role: string, id: string): Promise<IgnitionTemplate> {
    const kv = await this.store.get(ignitionKey(role, id));
    if (!kv) throw notFound(`Ignition template ${id} of role ${role}`);
    const stored = JSON.parse(kv.value) as Omit<IgnitionTemplate, 'role' | 'id'>;
    return { role, id, ...stored };
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
    const value = JSON.stringify({ template: upload.template, meta, created: this.now().toISOString() });
    if (Buffer.byteLength(value) > MAX_TEMPLATE_BYTES)
      throw tooLarge(`the template and its metadata are over ${MAX_TEMPLATE_BYTES} bytes`, 'template');
    const warnings = await this.checkIgnition(role, upload.template, meta, apiUrl);
    await this.retry(async () => {
      const index = await this.store.get(ignitionIndexKey(role));
      const plan = planVersionAdd(index ? (JSON.parse(index.value) as string[]) : [], id);
      if (plan.kind === 'conflict') throw conflict(plan.message, 'id');
      const result = await this.store.txn({
        compare: [keyUnchanged(ignitionIndexKey(role), index), keyMissing(ignitionKey(role, id))],
        success: [
          { type: 'put', key: ignitionKey(role, id), value },
          { type: 'put', key: ignitionIndexKey(role), value: JSON.stringify(plan.ids) },
          ...plan.pruned.map((old): TxnOp => ({ type: 'delete', key: ignitionKey(role, old) })),
          this.audit(actor, {
            category: 'ignitions',
            instance: `${role}/${id}`,
            action: 'put',
            detail: plan.pruned.length > 0 ? `pruned ${plan.pruned.join(',')}` : '',
          }),
        ],
      });
      return result.succeeded ? true : undefined;
    });
    return { warnings };
  }

  /** Removes a version; removing the highest rolls the role back to the one before. */
  async deleteIgnition(role: string, id: string, actor: Actor): Promise<void> {
    await this.retry(async () => {
      const index = await this.store.get(ignitionIndexKey(role));
      const ids = index ? (JSON.parse(index.value) as string[]) : [];
      if (!ids.includes(id)) throw notFound(`Ignition template ${id} of role ${role}`);
      const rest = ids.filter((other) => other !== id);
      const result = await this.store.txn({
        compare: [keyUnchanged(ignitionIndexKey(role), index)],
        success: [
          { type: 'delete', key: ignitionKey(role, id) },
          rest.length > 0
            ? { type: 'put', key: ignitionIndexKey(role), value: JSON.stringify(rest) }
            : { type: 'delete', key: ignitionIndexKey(role) },
          this.audit(actor, {
            category: 'ignitions',
            instance: `${role}/${id}`,
            action: 'delete',
            detail: `machines now boot ${newestVersion(rest) ?? 'no template'}`,
          }),
        ],
      });
      return result.succeeded ? true : undefined;
    });
  }

  /** Version `id` of the machine's role, rendered for it; TemplateError when the machine lacks what it needs. */
  async renderIgnition(machine: Machine, id: string, apiUrl: string): Promise<unknown> {
    const role = machine.spec.role;
    const kv = await this.store.get(ignitionKey(role, id));
    if (!kv) {
      const ids = await this.listIgnitions(role);
      throw new DomainError(
        'not-found',
        `Ignition template ${id} of role ${role} (machine ${machine.spec.serial}) not found; the role has ${ids.length > 0 ? ids.join(', ') : 'no templates'}`,
      );
    }
    const { template, meta } = JSON.parse(kv.value) as Pick<IgnitionTemplate, 'template' | 'meta'>;
    return renderJson(template, machineContext(machine, apiUrl, meta));
  }

  // ---- text templates ----

  /** The role's text template names, sorted. */
  async listTexts(role: string): Promise<string[]> {
    const range = await this.store.range({ prefix: textPrefix(role), keysOnly: true });
    return range.kvs.map((kv) => kv.key.slice(textPrefix(role).length)).sort();
  }

  async getText(role: string, name: string): Promise<TextTemplate> {
    const kv = await this.store.get(textKey(role, name));
    if (!kv) throw notFound(`text template ${name} of role ${role}`);
    const stored = JSON.parse(kv.value) as { text: string; updated: string };
    return { role, name, ...stored };
  }

  /** Sets (or replaces) a text template after test-rendering it for a sample machine; true when it replaced one. */
  async putText(role: string, name: string, text: string, apiUrl: string, actor: Actor): Promise<boolean> {
    if (Buffer.byteLength(text) > MAX_TEMPLATE_BYTES)
      throw tooLarge(`the template is over ${MAX_TEMPLATE_BYTES} bytes`, 'template');
    await this.checkText(role, text, apiUrl);
    const value = JSON.stringify({ text, updated: this.now().toISOString() });
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
    const kv = await this.store.get(textKey(machine.spec.role, name));
    if (!kv) throw notFound(`text template ${name} of role ${machine.spec.role} (machine ${machine.spec.serial})`);
    const { text } = JSON.parse(kv.value) as { text: string };
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
      return await this.options.inventory.getIpam();
    } catch (error) {
      if (isKind(error, 'not-found')) return undefined;
      throw error;
    }
  }

  // ---- internals ----

  private audit(actor: Actor, entry: AuditEntry): TxnOp {
    return auditOp(entry, actor, this.host, this.now());
  }

  /** Runs `attempt` until it returns a value (undefined = lost a race, try again). */
  private async retry<T>(attempt: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const result = await attempt();
      if (result !== undefined) return result;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * i)));
    }
    throw unavailable(`gave up after ${MAX_ATTEMPTS} conflicting attempts: too many concurrent writers; try again`);
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
