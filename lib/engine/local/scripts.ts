/**
 * The worker scripts as source text, for where their files are not there: an app bundled into one
 * file carries this module, and with it the scripts. The build (`build.mjs` beside this file)
 * writes them into this module's compiled file; in the sources they are absent, and threads start
 * from the script files.
 */
export const embeddedScripts: { readonly pool?: string; readonly stage?: string } = {};
