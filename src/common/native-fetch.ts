// Stands in for `node-fetch` in the bundle (the alias in scripts/bundle.ts; tsconfig.json's `paths`
// say the same to the type checker): gaxios, under google-auth-library, imports node-fetch on Node even though Node 24 has fetch
// built in. Its default export is the runtime's own fetch, so the polyfill and the four packages
// it pulls in (fetch-blob, formdata-polyfill, web-streams-polyfill, data-uri-to-buffer) stay out.
export default globalThis.fetch;
