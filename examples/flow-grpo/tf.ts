/**
 * Loads TensorFlow.js quietly and picks its backend.
 *
 * Why tfjs: it is a maintained Node ML library with real autodiff (tf.variableGrads) and Adam, and
 * its pure-JS CPU backend and its WebAssembly backend (XNNPACK, SIMD) install from npm with no
 * native download (tfjs-node fetches a libtensorflow binary at install time, which fails offline).
 * The wasm backend is about 4x faster than the CPU backend on this demo's matrix products.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type Tf = typeof import('@tensorflow/tfjs');

let loaded: Tf | undefined;

/** The tfjs namespace (loaded once; its "install tfjs-node" banner is silenced). */
export function tfjs(): Tf {
  if (loaded === undefined) {
    const warn = console.warn;
    const log = console.log;
    console.warn = () => {};
    console.log = () => {};
    try {
      loaded = require('@tensorflow/tfjs') as Tf;
      // PROD silences backend_util.warn (the CPU backend's "install tfjs-node" banner on first use).
      loaded.env().set('PROD', true);
    } finally {
      console.warn = warn;
      console.log = log;
    }
  }
  return loaded;
}

/** Backend choice: 'wasm' (default, falls back to 'cpu' and says so) or 'cpu'. */
export async function initBackend(preferred: 'wasm' | 'cpu' = 'wasm'): Promise<string> {
  const tf = tfjs();
  if (preferred === 'wasm') {
    try {
      const warn = console.warn;
      console.warn = () => {};
      try {
        require('@tensorflow/tfjs-backend-wasm');
        // One thread: the trainer's batches are small, and the machine is shared.
        const wasm = require('@tensorflow/tfjs-backend-wasm') as { setThreadsCount?: (n: number) => void };
        wasm.setThreadsCount?.(1);
        if (await tf.setBackend('wasm')) {
          await tf.ready();
          return tf.getBackend();
        }
      } finally {
        console.warn = warn;
      }
    } catch (err) {
      process.emitWarning(`tfjs wasm backend unavailable (${String(err)}); using the cpu backend`, {
        code: 'OTCA_DEMO_TFJS_CPU',
      });
    }
  }
  // The CPU backend prints an "install tfjs-node" banner when it is created: silence it.
  const warn = console.warn;
  const log = console.log;
  console.warn = () => {};
  console.log = () => {};
  try {
    await tf.setBackend('cpu');
    await tf.ready();
  } finally {
    console.warn = warn;
    console.log = log;
  }
  return tf.getBackend();
}
