export default function half(x: number): number {
  return x / 2;
}
