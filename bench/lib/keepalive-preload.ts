// `node --import dist/bench/lib/keepalive-preload.js dist/src/cli/main.js controller ...`:
// runs the operator unchanged except that its API clients reuse connections
// (see keepalive.ts), to measure what that change would bring.
import { installKeepAlive } from './keepalive.js';

installKeepAlive();
