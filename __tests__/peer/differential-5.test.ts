// A part of the differential tests: which one is in this file's name (differential-shard.ts).
import { differentialShard } from './differential-shard.js';

differentialShard(import.meta.filename);
