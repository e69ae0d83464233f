// npm run bench: speed and memory figures, written as JSON (see README "Benchmarks").
// The `max` benchmark lands with the scale issue; until then this records the machine only.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const result = {
  date: new Date().toISOString(),
  machine: {
    kernel: os.release(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
  },
  benchmarks: {},
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL('./results/latest.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
