// Which services need an ID token to be verified: the pure half of the private-service preflight.
import { needsLiveAccess, willBePrivate } from '../../src/deploy/preflight.js';

describe('willBePrivate', () => {
  it('follows allow_unauthenticated when it is set, whatever the live service says', () => {
    expect(willBePrivate(true, { uri: 'https://s', public: false })).toBe(false);
    expect(willBePrivate(false, { uri: 'https://s', public: true })).toBe(true);
  });

  it('keeps the live access when the input is unset', () => {
    expect(willBePrivate(undefined, { uri: 'https://s', public: true })).toBe(false);
    expect(willBePrivate(undefined, { uri: 'https://s', public: false })).toBe(true);
  });

  it('treats a new service without allow_unauthenticated as private', () => {
    expect(willBePrivate(undefined, undefined)).toBe(true);
  });
});

describe('needsLiveAccess', () => {
  it('reads the live service only when allow_unauthenticated is unset', () => {
    expect(needsLiveAccess({ allowUnauthenticated: undefined })).toBe(true);
    expect(needsLiveAccess({ allowUnauthenticated: false })).toBe(false);
    expect(needsLiveAccess({ allowUnauthenticated: true })).toBe(false);
  });
});
