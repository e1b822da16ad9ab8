// Top-level await: this package is "type": "module", so a .ts file is an ES module.
const offset: number = await Promise.resolve(100);

export function addOffset(x: number): number {
  return x + offset;
}
