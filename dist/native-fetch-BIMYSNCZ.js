import { createRequire as __runwayCreateRequire } from 'node:module'; const require = __runwayCreateRequire(import.meta.url);
import {
  __esm
} from "./chunk-4RMUBLJ7.js";

// src/common/native-fetch.ts
var native_fetch_default;
var init_native_fetch = __esm({
  "src/common/native-fetch.ts"() {
    native_fetch_default = globalThis.fetch;
  }
});
init_native_fetch();
export {
  native_fetch_default as default
};
//# sourceMappingURL=native-fetch-BIMYSNCZ.js.map
