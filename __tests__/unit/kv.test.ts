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
  it('says where a syntax error is (entry and line), never what the entry holds', () => {
    const attempt = (text: string): string => {
      try {
        parseKeyValues(text);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(attempt('A=1\nB=2\n=hunter2')).toBe('entry 3 (line 3) has no key before "="');
    expect(attempt('A=1,hunter2')).toBe('entry 2 (line 1) has no "=VALUE"');
    expect(attempt('A="x\ny" hunter2')).toBe('entry 1 (line 2) has text after its quoted value');
    expect(attempt('A=1\nB="hunter2')).toBe('entry 2 (line 2) has an unterminated " quote');
  });
  it('later duplicates win, as in deploy-cloudrun', () => {
    expect(parseKeyValues('A=1,A=2')).toEqual({ A: '2' });
  });
});
