// What esbuild's file loader makes of an import of a task module: its file name in the output.
declare module '*.task.mjs' {
  const fileName: string;
  export default fileName;
}
