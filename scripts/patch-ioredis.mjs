// Runs after every `npm install`/`npm ci` (package.json "postinstall"). Rewrites three statements
// of ioredis 6.0.0 so that each command's reject function is bound to a local before it is stored
// on the command. Behaviour is the same. Why: when V8 11 (Node 20) runs a statement
// `obj.prop = () => ...` in code that is not optimized, the new closure's context outlives every
// young-generation collection until the next mark-compact. Every ioredis command runs two such
// statements (three in cluster mode), so in the processes where V8 does not optimize them (about
// half, decided early in a process's life), every command and everything it holds was promoted:
// about 850 more bytes per message, and more mark-compacts in the message path. See "Performance"
// in the README. Fails the install when the text is not found, so an ioredis upgrade is checked
// again by hand.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const VERSION = "6.0.0";
const root = dirname(createRequire(import.meta.url).resolve("ioredis")); // .../ioredis/built
const installed = JSON.parse(readFileSync(join(root, "..", "package.json"), "utf8")).version;
if (installed !== VERSION) {
  throw new Error(`scripts/patch-ioredis.mjs is written for ioredis ${VERSION}, found ${installed}: check it again`);
}

const edits = [
  {
    file: "Command.js",
    from: `            this.reject = (err) => {
                this._clearTimers();
                this.isSettled = true;
                if (this.errorStack) {
                    reject((0, utils_1.optimizeErrorStack)(err, this.errorStack.stack, __dirname));
                }
                else {
                    reject(err);
                }
            };
`,
    to: `            const rejectCommand = (err) => {
                this._clearTimers();
                this.isSettled = true;
                if (this.errorStack) {
                    reject((0, utils_1.optimizeErrorStack)(err, this.errorStack.stack, __dirname));
                }
                else {
                    reject(err);
                }
            };
            this.reject = rejectCommand;
`,
  },
  {
    file: "Script.js",
    from: `                this.reject = (err) => {
                    if (err.message.indexOf("NOSCRIPT") !== -1) {
                        socketHasScriptLoaded.delete(socket);
                    }
                    origReject.call(this, err);
                };
`,
    to: `                const rejectScript = (err) => {
                    if (err.message.indexOf("NOSCRIPT") !== -1) {
                        socketHasScriptLoaded.delete(socket);
                    }
                    origReject.call(this, err);
                };
                this.reject = rejectScript;
`,
  },
  {
    file: "cluster/index.js",
    from: `            command.reject = function (err) {
                const partialTry = tryConnection.bind(null, true);`,
    to: `            const rejectRouted = function (err) {
                const partialTry = tryConnection.bind(null, true);`,
  },
  {
    file: "cluster/index.js",
    from: `                    defaults: function () {
                        reject.call(command, err);
                    },
                });
            };
        }
        tryConnection();`,
    to: `                    defaults: function () {
                        reject.call(command, err);
                    },
                });
            };
            command.reject = rejectRouted;
        }
        tryConnection();`,
  },
];

for (const { file, from, to } of edits) {
  const path = join(root, file);
  const source = readFileSync(path, "utf8");
  if (source.includes(to)) continue; // already applied
  if (!source.includes(from)) throw new Error(`scripts/patch-ioredis.mjs: the expected code is not in ${path}`);
  writeFileSync(path, source.replace(from, to));
}
