// JSON Schemas for the fields this project reads, per kind (SPEC §1, §5).
//
// Reference forms are checked with ajv formats backed by patterns.ts, never
// with `pattern`: ajv would compile the upstream strings for JavaScript's
// backtracking engine (see patterns.ts). Schemas for kinds we own are
// closed (`additionalProperties: false`) so that a misspelt field is an
// error instead of being silently ignored; for kinds owned by others only
// the fields we read are described.
import type { SchemaObject } from 'ajv';
import type { SchemaKey } from './kinds.js';

/** Custom keyword: the message to show when the schema node it sits on fails. */
export const MESSAGE_KEYWORD = 'x-message';

/** Format names, registered in validate.ts with patterns.ts. */
export const FORMATS = {
  source: 'image-source',
  mirror: 'image-mirror',
  scope: 'image-scope',
  host: 'registry-host',
} as const;

const nonEmpty = { type: 'string', minLength: 1 };
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };

const metadata = {
  type: 'object',
  required: ['name'],
  properties: {
    name: nonEmpty,
    namespace: { type: 'string' },
    labels: stringMap,
    annotations: stringMap,
  },
};

const labelSelector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: stringMap,
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        additionalProperties: false,
        properties: {
          key: nonEmpty,
          operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};

const mirrorList = {
  type: 'array',
  items: { type: 'string', format: FORMATS.mirror },
  uniqueItems: true,
};

/** One IDMS/ITMS entry, exactly the upstream fields. */
const mirrorSetEntry = {
  type: 'object',
  required: ['source'],
  additionalProperties: false,
  properties: {
    source: { type: 'string', format: FORMATS.source },
    mirrors: mirrorList,
    mirrorSourcePolicy: { enum: ['NeverContactSource', 'AllowContactingSource'] },
  },
};

/** ICSP `repositoryDigestMirrors[]` and HostedCluster `imageContentSources[]`: no policy. */
const legacyEntry = {
  type: 'object',
  required: ['source'],
  additionalProperties: false,
  properties: {
    source: { type: 'string', format: FORMATS.source },
    mirrors: mirrorList,
  },
};

const scopeList = { type: 'array', items: { type: 'string', format: FORMATS.scope } };

/** `registrySources` of Image and HostedCluster `configuration.image`: only the scopes we read. */
const registrySources = {
  type: 'object',
  properties: { insecureRegistries: scopeList, blockedRegistries: scopeList },
};

function object(spec: object, required = true): SchemaObject {
  return {
    type: 'object',
    required: required ? ['apiVersion', 'kind', 'metadata', 'spec'] : ['apiVersion', 'kind', 'metadata'],
    properties: { apiVersion: nonEmpty, kind: nonEmpty, metadata, spec },
  };
}

/**
 * Bounds of our CRDs (crds/): the API server needs them to bound the cost of
 * the validation rules, so files read by the CLI get the same limits.
 */
export const MAX_ENTRIES = 1000;
export const MAX_MIRRORS = 16;
export const MAX_SCOPES = 1000;

const boundedEntry = {
  ...mirrorSetEntry,
  properties: { ...mirrorSetEntry.properties, mirrors: { ...mirrorList, maxItems: MAX_MIRRORS } },
};

function mirrorSet(field: 'imageDigestMirrors' | 'imageTagMirrors', ours: boolean): SchemaObject {
  const list = ours ? { type: 'array', maxItems: MAX_ENTRIES, items: boundedEntry } : { type: 'array', items: mirrorSetEntry };
  const properties: Record<string, object> = { [field]: list };
  if (ours) properties.nodePoolSelector = labelSelector;
  return object({ type: 'object', additionalProperties: false, properties });
}

const keyRef = {
  type: 'object',
  required: ['namespace', 'name', 'key'],
  additionalProperties: false,
  properties: { namespace: nonEmpty, name: nonEmpty, key: nonEmpty },
};

const objectRef = {
  type: 'object',
  required: ['namespace', 'name'],
  additionalProperties: false,
  properties: { namespace: nonEmpty, name: nonEmpty },
};

const accessHost = {
  type: 'object',
  required: ['host'],
  additionalProperties: false,
  properties: {
    host: { type: 'string', format: FORMATS.host },
    ca: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      [MESSAGE_KEYWORD]: 'set exactly one of configMapKeyRef and secretKeyRef',
      properties: { configMapKeyRef: keyRef, secretKeyRef: keyRef },
    },
    credentialsSecretRef: objectRef,
    clientCertificateSecretRef: objectRef,
    insecureSkipVerify: { type: 'boolean' },
    plainHTTP: { type: 'boolean' },
  },
};

const registryAccessSpec = {
  type: 'object',
  additionalProperties: false,
  properties: {
    nodePoolSelector: labelSelector,
    hosts: { type: 'array', maxItems: 256, items: accessHost },
    insecureRegistries: { ...scopeList, maxItems: MAX_SCOPES },
    blockedRegistries: { ...scopeList, maxItems: MAX_SCOPES },
    defaultMirror: {
      type: 'object',
      required: ['mirror'],
      additionalProperties: false,
      properties: {
        mirror: { type: 'string', format: FORMATS.mirror },
        registries: { type: 'array', maxItems: 256, items: { type: 'string', format: FORMATS.source }, uniqueItems: true },
      },
    },
  },
};

const configMapLike = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata'],
  properties: {
    apiVersion: nonEmpty,
    kind: nonEmpty,
    metadata,
    type: { type: 'string' },
    data: stringMap,
    stringData: stringMap,
    binaryData: stringMap,
  },
};

export const SCHEMAS: Record<SchemaKey, SchemaObject> = {
  IDMS: mirrorSet('imageDigestMirrors', false),
  'IDMS/ours': mirrorSet('imageDigestMirrors', true),
  ITMS: mirrorSet('imageTagMirrors', false),
  'ITMS/ours': mirrorSet('imageTagMirrors', true),
  ICSP: object({
    type: 'object',
    additionalProperties: false,
    properties: { repositoryDigestMirrors: { type: 'array', items: legacyEntry } },
  }),
  Image: object({ type: 'object', properties: { registrySources } }, false),
  RegistryAccess: object(registryAccessSpec),
  HostedCluster: object({
    type: 'object',
    properties: {
      imageContentSources: { type: 'array', items: legacyEntry },
      imageMirrorConfigRef: { type: 'object', required: ['name'], properties: { name: nonEmpty } },
      imageMirrorConfig: { type: 'object', required: ['name'], properties: { name: nonEmpty } },
      configuration: { type: 'object', properties: { image: { type: 'object', properties: { registrySources } } } },
    },
  }),
  NodePool: object({
    type: 'object',
    required: ['clusterName'],
    properties: {
      clusterName: nonEmpty,
      config: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: nonEmpty } } },
    },
  }),
  ConfigMap: configMapLike,
  Secret: configMapLike,
};
