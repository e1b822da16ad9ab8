export = function cube(x: number): number {
  return x ** 3;
};
