/**
 * The worker scripts of the browser build, as source text: a thread starts as a module worker on
 * a blob of one of them, so a page needs no script file of ours and a bundler nothing to copy.
 * `build.mjs` fills this module in when it makes the browser build; in the sources it is empty.
 */
export const browserScripts: { readonly pool?: string; readonly stage?: string } = {};
