import { parseKeyValues } from '../../src/inputs/kv.js';

describe('parseKeyValues (deploy-cloudrun compatible)', () => {
  it('splits on commas and newlines and trims keys and values', () => {
    expect(parseKeyValues('A=1, B = 2\nC=3\r\nD=4')).toEqual({ A: '1', B: '2', C: '3', D: '4' });
  });
  it('keeps every "=" after the first in the value', () => {
    expect(parseKeyValues('URL=https://x.test/?a=b&c=d')).toEqual({ URL: 'https://x.test/?a=b&c=d' });
  });
  it('lets a backslash escape separators, "=" and itself', () => {
    expect(parseKeyValues('LIST=a\\,b\\,c,K\\=EY=v,P=C:\\\\dir')).toEqual({
      LIST: 'a,b,c',
      'K=EY': 'v',
      P: 'C:\\dir',
    });
  });
  it('keeps whitespace and separators inside a quoted value', () => {
    expect(parseKeyValues(`MSG="  hello, world  "\nQ='a=b'`)).toEqual({ MSG: '  hello, world  ', Q: 'a=b' });
  });
  it('reads {} and empty input as "no entries"', () => {
    expect(parseKeyValues('{}')).toEqual({});
    expect(parseKeyValues('  \n ')).toEqual({});
  });
  it('allows empty values and trailing separators', () => {
    expect(parseKeyValues('A=,B=2,\n')).toEqual({ A: '', B: '2' });
  });
  it('rejects an entry without a key, without "=", or with a dangling escape', () => {
    expect(() => parseKeyValues('=value')).toThrow(/no key/);
    expect(() => parseKeyValues('JUSTAKEY')).toThrow(/has no "=VALUE"/);
    expect(() => parseKeyValues('A=b\\')).toThrow(/unterminated escape/);
    expect(() => parseKeyValues('A="open')).toThrow(/unterminated/);
  });
  it('later duplicates win, as in deploy-cloudrun', () => {
    expect(parseKeyValues('A=1,A=2')).toEqual({ A: '2' });
  });
});
