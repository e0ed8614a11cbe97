#!/usr/bin/env node
// Regenerates the rendered-example blocks of README.md (run after `make build`).
import { readFileSync, writeFileSync } from 'node:fs';
import { updateReadme } from '../dist/src/cli/readme-examples.js';

const path = new URL('../README.md', import.meta.url);
writeFileSync(path, updateReadme(readFileSync(path, 'utf8')));
