// The JavaScript engine of SoulBox's code interpreter: one persistent
// Node.js process per context. Cells run in the process's own global
// scope, so declarations, imports and functions carry over from one cell
// to the next, as in `node`'s REPL. The protocol with the agent is in the
// interpreter package's doc.go: requests on fd 3, events on fd 4, user
// output on fd 1 and 2 with ordering markers.
(function () {
  'use strict';
  const fs = require('fs');
  const vm = require('vm');
  const util = require('util');
  const readline = require('readline');

  // Node's REPL rewrites a cell with top-level await into an async
  // function that still declares its variables globally. It is internal
  // to Node (hence --expose-internals); without it, await only works
  // inside functions.
  let processTopLevelAwait = null;
  try {
    ({ processTopLevelAwait } = require('internal/repl/await'));
  } catch (_) {}

  const EVENTS = 4;
  let mark = 0;
  let executionCount = 0;

  // emit writes an event once everything printed before it is written,
  // with a marker on stdout and stderr the agent orders it by.
  function emit(id, ev) {
    mark++;
    let m = mark;
    const marker = `\x1e\x1fsoulbox-mark:${m}\x1f\x1e`;
    try {
      fs.writeSync(1, marker);
      fs.writeSync(2, marker);
    } catch (_) {
      m = 0;
    }
    fs.writeSync(EVENTS, JSON.stringify({ id, mark: m, ...ev }) + '\n');
  }

  // An interrupt (SIGINT from the agent) stops synchronous code through
  // breakOnSigint, and abandons a pending await through this listener.
  // Between cells it is ignored.
  let interrupted = null;
  process.on('SIGINT', () => {
    if (interrupted) interrupted();
  });
  // Code a cell leaves running must not take the context down with it.
  process.on('uncaughtException', (err) => {
    process.stderr.write(`Uncaught ${util.inspect(err)}\n`);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`Unhandled rejection: ${util.inspect(err)}\n`);
  });

  class Interrupted extends Error {
    constructor() {
      super('execution was interrupted');
      this.name = 'Interrupted';
    }
  }

  function untilInterrupted(promise) {
    return Promise.race([
      promise,
      new Promise((_, reject) => {
        interrupted = () => reject(new Interrupted());
      }),
    ]);
  }

  function compile(code) {
    if (processTopLevelAwait && code.includes('await')) {
      const wrapped = processTopLevelAwait(code);
      if (wrapped !== null) return { script: new vm.Script(wrapped, { filename: 'cell.js' }), wrapped: true };
    }
    // As in the REPL, a cell that starts with { is an object literal.
    if (/^\s*\{/.test(code) && !/;\s*$/.test(code)) {
      try {
        return { script: new vm.Script(`(${code}\n)`, { filename: 'cell.js' }), wrapped: false };
      } catch (_) {}
    }
    return { script: new vm.Script(code, { filename: 'cell.js' }), wrapped: false };
  }

  function setEnv(env) {
    const saved = {};
    for (const [k, v] of Object.entries(env || {})) {
      saved[k] = Object.prototype.hasOwnProperty.call(process.env, k) ? process.env[k] : undefined;
      process.env[k] = v;
    }
    return () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    };
  }

  async function run(req) {
    if (req.setenv) {
      Object.assign(process.env, req.setenv);
      if (!req.code) {
        emit(req.id, { type: 'done', execution_count: executionCount });
        return;
      }
    }
    const restore = setEnv(req.env);
    executionCount++;
    try {
      const { script, wrapped } = compile(req.code);
      let value = script.runInThisContext({ breakOnSigint: true, displayErrors: false });
      if (wrapped) {
        value = await untilInterrupted(value);
        value = value ? value.value : undefined;
      } else if (value && typeof value.then === 'function') {
        value = await untilInterrupted(value);
      }
      if (value !== undefined) {
        emit(req.id, { type: 'result', is_main_result: true, text: util.inspect(value, { depth: 6, colors: false }) });
      }
    } catch (err) {
      emit(req.id, errorEvent(err));
    } finally {
      interrupted = null;
      restore();
      emit(req.id, { type: 'done', execution_count: executionCount });
    }
  }

  function errorEvent(err) {
    if (err && err.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') err = new Interrupted();
    if (err instanceof Error || (err && typeof err.stack === 'string')) {
      return { type: 'error', name: err.name || 'Error', value: err.message || '', traceback: err.stack || '' };
    }
    return { type: 'error', name: 'Error', value: util.inspect(err), traceback: '' };
  }

  // Requests are handled one at a time, in order.
  const requests = readline.createInterface({ input: fs.createReadStream(null, { fd: 3 }) });
  let queue = Promise.resolve();
  requests.on('line', (line) => {
    let req;
    try {
      req = JSON.parse(line);
    } catch (_) {
      return;
    }
    queue = queue.then(() => run(req));
  });
  requests.on('close', () => queue.then(() => process.exit(0)));
  fs.writeSync(EVENTS, JSON.stringify({ type: 'ready' }) + '\n');
})();
