// What a shared object needs of the system, from the symbol versions it names: the newest GLIBC_x.y[.z]
// (the glibc floor: the npm prebuild's report, the Python wheel's manylinux_2_XX tag) and whether it
// needs the system's libstdc++ (GLIBCXX_ / CXXABI_ versions). Read from the file's strings, where the
// .gnu.version_r names are: an over-estimate at worst (a GLIBC_ string elsewhere), never an under-estimate.
import { readFileSync } from 'node:fs';

/** { glibc: [major, minor, patch] | undefined, libstdcxx: the newest GLIBCXX_ version or undefined }. */
export function symbolVersions(path) {
  const text = readFileSync(path).toString('latin1');
  const newest = (re) =>
    [...text.matchAll(re)]
      .map((m) => [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])
      .pop();
  return { glibc: newest(/GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g), libstdcxx: newest(/(?:GLIBCXX|CXXABI)_(\d+)\.(\d+)(?:\.(\d+))?/g) };
}

/** A version as the docs write it: 2.34, 3.4.30. */
export function versionText(v) {
  return v ? v.filter((x, i) => i < 2 || x).join('.') : '?';
}
