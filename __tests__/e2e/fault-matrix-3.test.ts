// A part of the fault-injection matrix: which one is in this file's name (fault-matrix-shard.ts).
import { faultMatrixShard } from './fault-matrix-shard.js';

faultMatrixShard(import.meta.filename);
