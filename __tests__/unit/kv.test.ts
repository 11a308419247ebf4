// KEY=VALUE lists read exactly as deploy-cloudrun reads them (its library, actions-utils).
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
  it('treats quotes as ordinary characters, as deploy-cloudrun does', () => {
    expect(parseKeyValues(`MSG="hello"`)).toEqual({ MSG: '"hello"' });
    expect(() => parseKeyValues(`MSG="hello, world"`)).toThrow('entry 2 (line 1) has no "=VALUE"');
  });
  it('reads {} and empty input as "no entries"', () => {
    expect(parseKeyValues('{}')).toEqual({});
    expect(parseKeyValues('  \n ')).toEqual({});
  });
  it('allows empty values and trailing separators', () => {
    expect(parseKeyValues('A=,B=2,\n')).toEqual({ A: '', B: '2' });
  });
  it('refuses an entry without "=", where deploy-cloudrun would make a secret pasted alone a name', () => {
    expect(() => parseKeyValues('A=1\nhunter2')).toThrow('entry 2 (line 2) has no "=VALUE"');
    expect(() => parseKeyValues('A=1,B\\=2,C')).toThrow('entry 2 (line 1) has no "=VALUE"');
    expect(parseKeyValues('K\\=EY=v')).toEqual({ 'K=EY': 'v' });
  });
  it('says where a syntax error is (a position), never what the entry holds', () => {
    const attempt = (text: string): string => {
      try {
        parseKeyValues(text);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(attempt('A=1\nB=2\n=hunter2')).toMatch(/no preceeding key before "="\) at 8$/);
    expect(attempt('A=hunter2\\')).toBe('Unterminated escape character at 9');
    expect(attempt('A=1\n=hunter2')).not.toContain('hunter2');
  });
  it('later duplicates win, as in deploy-cloudrun', () => {
    expect(parseKeyValues('A=1,A=2')).toEqual({ A: '2' });
  });
});
