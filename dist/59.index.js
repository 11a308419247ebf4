export const id = 59;
export const ids = [59];
export const modules = {

/***/ 6059:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   "default": () => (__WEBPACK_DEFAULT_EXPORT__)
/* harmony export */ });
// Stands in for `node-fetch` in the bundle (the `paths` of src/tsconfig.json, which ncc resolves
// by): gaxios, under google-auth-library, imports node-fetch on Node even though Node 24 has fetch
// built in. Its default export is the runtime's own fetch, so the polyfill and the four packages
// it pulls in (fetch-blob, formdata-polyfill, web-streams-polyfill, data-uri-to-buffer) stay out.
/* harmony default export */ const __WEBPACK_DEFAULT_EXPORT__ = (globalThis.fetch);


/***/ })

};

//# sourceMappingURL=59.index.js.map