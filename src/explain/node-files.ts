// The files a node would have, as explain reads them: node path -> content.
// A file may be known to exist without its content (a Secret key the user
// cannot read): explain then says what it cannot predict, and never guesses.

export type NodeFileView = { path: string; content: string } | { path: string; unreadable: string };

export class NodeFiles {
  private readonly byPath = new Map<string, NodeFileView>();

  constructor(files: Iterable<NodeFileView>) {
    for (const f of files) this.byPath.set(f.path, f);
  }

  get(path: string): NodeFileView | undefined {
    return this.byPath.get(path);
  }

  /** Content, or undefined when the file is absent; throws nothing. */
  text(path: string): string | undefined {
    const f = this.byPath.get(path);
    return f && 'content' in f ? f.content : undefined;
  }

  has(path: string): boolean {
    return this.byPath.has(path);
  }

  /** A directory exists when some file is below it. */
  hasDir(dir: string): boolean {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    for (const p of this.byPath.keys()) if (p.startsWith(prefix)) return true;
    return false;
  }

  /** Names of the files directly in `dir`, sorted. */
  list(dir: string): string[] {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    const names: string[] = [];
    for (const p of this.byPath.keys()) {
      if (p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) names.push(p.slice(prefix.length));
    }
    return names.sort();
  }
}
