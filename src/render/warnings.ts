// One order for warnings everywhere (render(), the MachineConfig, status):
// sorted and de-duplicated, so a status condition built from them is stable.
import { byteOrder } from '../merge/scope.js';
import type { RenderWarning } from '../model/types.js';

export function sortedWarnings(warnings: readonly RenderWarning[]): RenderWarning[] {
  const sorted = [...warnings].sort(compareWarnings);
  return sorted.filter((w, i) => i === 0 || compareWarnings(sorted[i - 1]!, w) !== 0);
}

function compareWarnings(a: RenderWarning, b: RenderWarning): number {
  return (
    byteOrder(a.renderer, b.renderer) ||
    byteOrder(a.source, b.source) ||
    byteOrder(a.mirror ?? '', b.mirror ?? '') ||
    byteOrder(a.code, b.code) ||
    byteOrder(a.message, b.message)
  );
}
