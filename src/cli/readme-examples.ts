// The README shows rendered examples between markers of the form
//   <!-- render: <paths, space-separated> [--target ns/name] [--nodepool-agent-files W] file=<node path> -->
//   ```toml ... ```
// `updateReadme` fills each block from a live render; the unit test
// test/unit/readme.test.ts fails when a block differs from what render gives.
import { renderPaths } from './render.js';
import { parseTarget } from './render.js';
import type { Target } from '../model/source.js';
import type { PipelineOptions } from '../pipeline.js';
import { isAgentFiles } from '../render/agent-files.js';

const BLOCK = /<!-- render: ([^>]*?) -->\n```(\w*)\n([\s\S]*?)```/g;

export interface ReadmeBlock {
  spec: string;
  lang: string;
  shown: string;
  rendered: string;
}

/** Parses `examples/x [--target ns/np] file=/etc/...` into paths, target and file. */
function parseSpec(spec: string): { paths: string[]; target: Target; file: string; options: PipelineOptions } {
  const words = spec.trim().split(/\s+/);
  const paths: string[] = [];
  let target: Target = { kind: 'Cluster' };
  let file = '';
  const options: PipelineOptions = {};
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--target') target = parseTarget(words[++i] ?? '');
    else if (word === '--nodepool-agent-files') {
      const which = words[++i];
      if (!isAgentFiles(which)) throw new Error(`README block "${spec}": --nodepool-agent-files ${which ?? ''} is not none, crio or all`);
      options.nodePoolAgentFiles = which;
    } else if (word.startsWith('file=')) file = word.slice('file='.length);
    else paths.push(word);
  }
  return { paths, target, file, options };
}

function renderFile(spec: string): string {
  const { paths, target, file, options } = parseSpec(spec);
  const { errors, rendered } = renderPaths(paths, target, options);
  if (errors.length > 0 || !rendered?.outcome.ok) throw new Error(`README block "${spec}": input is invalid`);
  const f = rendered.outcome.output.files.find((x) => x.path === file);
  if (f === undefined) throw new Error(`README block "${spec}": no file ${file}`);
  return f.secret ? redact(f.content, spec) : f.content;
}

/**
 * A secret file is shown only with its credentials replaced; anything secret
 * other than an authorization header (auth.json, client keys) is refused.
 */
function redact(content: string, spec: string): string {
  if (!/^\s*authorization = "/m.test(content)) throw new Error(`README block "${spec}": a secret file with no authorization header must not be shown`);
  return content.replace(/^(\s*authorization = ")Basic [^"]*"/gm, '$1Basic <redacted: in the output Secret only>"');
}

export function readmeBlocks(readme: string): ReadmeBlock[] {
  return [...readme.matchAll(BLOCK)].map(([, spec = '', lang = '', shown = '']) => ({ spec, lang, shown, rendered: renderFile(spec) }));
}

export function updateReadme(readme: string): string {
  return readme.replace(BLOCK, (_all, spec: string, lang: string) => {
    const body = renderFile(spec);
    return `<!-- render: ${spec} -->\n\`\`\`${lang}\n${body.endsWith('\n') ? body : `${body}\n`}\`\`\``;
  });
}
