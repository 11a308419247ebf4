// The action's entry point: everything happens in run().
import './cjs-globals.js';
import { run } from './main.js';

void run();
