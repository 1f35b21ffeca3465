import {
  acceptable,
  matchContentType,
  mediaTypeOf,
  parseMediaType,
  representationOf,
} from '../../contract-kit';

/**
 * The contract kit's media types (docs/decisions.md "Media types"): one set of rules for the mock's 406
 * and 415 and the harness's Content-Type checks. RFC 9110 section 8.3.1 (media type), 12.5.1 (Accept).
 */

const JSON_UTF8 = representationOf('application/json');
const accepts = (accept: string | undefined): boolean => acceptable(accept, [JSON_UTF8]).length > 0;

describe('Accept against an application/json; charset=utf-8 representation', () => {
  test.each([
    [undefined, 'no Accept at all means anything'],
    ['', 'an empty Accept is treated as none'],
    ['application/json', 'the plain media type'],
    ['application/json; charset=utf-8', 'with the charset the mock writes'],
    ['application/json;charset=UTF-8', 'as Java clients send it: no space, upper-case value'],
    ['Application/JSON; Charset="UTF-8"', 'type, subtype and parameter name in any case, quoted value'],
    ['application/json ; charset=utf-8', 'whitespace before the semicolon'],
    ['application/json; charset=utf-8; q=0.5', 'a weight after the parameter'],
    ['*/*', 'any type'],
    ['application/*', 'any application subtype'],
    ['text/html, application/json;q=0.1', 'a low weight is still acceptable'],
    ['text/html, */*;q=0.1', 'a wildcard with a weight'],
    ['application/xml;q=0.9, application/json', 'one of several ranges'],
    [
      'application/problem+json, application/json',
      'problem details and JSON, as a problem-aware client sends',
    ],
    ['text/html,\tapplication/json', 'a tab as whitespace'],
    [', , application/json', 'empty list members are ignored (RFC 9110 section 5.6.1)'],
  ] as [string | undefined, string][])('accepts %j (%s)', (accept) => {
    expect(accepts(accept)).toBe(true);
  });

  test.each([
    ['text/html', 'another type'],
    ['application/xml', 'another subtype'],
    ['application/problem+json', 'problem details only: a success would not be acceptable'],
    ['application/json; charset=iso-8859-1', 'another charset'],
    ['application/json; version=2', 'a parameter the representation does not have'],
    ['application/json;q=0', 'q=0 means not acceptable'],
    ['application/json; q=0.000', 'q=0 written with decimals'],
    ['*/*;q=0', 'nothing at all is acceptable'],
    ['application/json;q=0, */*', 'the most specific range wins: JSON excluded, the rest allowed'],
    ['application/*;q=0, text/*', 'excluded by a type wildcard'],
    ['text/plain, text/html;q=0.9', 'several ranges, none JSON'],
    ['json', 'not a media range at all (ignored, so nothing is acceptable)'],
  ])('does not accept %j (%s)', (accept) => {
    expect(accepts(accept)).toBe(false);
  });

  test('a repeated Accept header counts as one list (RFC 9110 section 5.3)', () => {
    expect(acceptable(['text/html', 'application/json'], [JSON_UTF8])).toEqual([JSON_UTF8]);
    expect(acceptable(['text/html', 'application/xml'], [JSON_UTF8])).toEqual([]);
  });
});

test("RFC 9110 section 12.5.1's own example orders representations by the most specific range", () => {
  const accept =
    'text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, text/plain;format=fixed;q=0.4, */*;q=0.5';
  // The RFC's values: flowed 1, text/plain 0.7, image/jpeg 0.5, fixed 0.4, text/html 0.3.
  expect(
    acceptable(accept, [
      'text/html',
      'text/plain;format=fixed',
      'image/jpeg',
      'text/plain',
      'text/plain;format=flowed',
    ]),
  ).toEqual(['text/plain;format=flowed', 'text/plain', 'image/jpeg', 'text/plain;format=fixed', 'text/html']);
});

describe('Content-Type of a request body', () => {
  const JSON_ONLY = ['application/json'];
  const TOKEN = ['application/json', 'application/x-www-form-urlencoded'];

  test.each([
    ['application/json', JSON_ONLY, 'application/json'],
    ['application/json; charset=utf-8', JSON_ONLY, 'application/json'],
    ['application/json;charset=UTF-8', JSON_ONLY, 'application/json'],
    ['APPLICATION/JSON; CHARSET="utf-8"', JSON_ONLY, 'application/json'],
    ['application/json; foo=bar', JSON_ONLY, 'application/json'],
    ['application/x-www-form-urlencoded', TOKEN, 'application/x-www-form-urlencoded'],
    ['application/x-www-form-urlencoded; charset=UTF-8', TOKEN, 'application/x-www-form-urlencoded'],
    ['application/x-www-form-urlencoded; charset=ISO-8859-1', TOKEN, 'application/x-www-form-urlencoded'],
  ])('%j matches %j as %s', (contentType, declared, mediaType) => {
    expect(matchContentType(contentType, declared)).toEqual({ kind: 'match', mediaType });
  });

  test.each([
    ['application/json; charset=iso-8859-1', JSON_ONLY, 'iso-8859-1'],
    ['application/json; charset=utf-16', JSON_ONLY, 'utf-16'],
    ['application/x-www-form-urlencoded; charset=windows-1252', TOKEN, 'windows-1252'],
  ])('%j is a charset the mock does not read', (contentType, declared, charset) => {
    expect(matchContentType(contentType, declared)).toMatchObject({ kind: 'charset', charset });
  });

  test.each([
    ['text/plain', 'text/plain'],
    ['application/xml', 'application/xml'],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['application/problem+json', 'application/problem+json'],
    ['*/*', '*/*'],
  ])('%j is not declared', (contentType, essence) => {
    expect(matchContentType(contentType, ['application/json'])).toEqual({ kind: 'not-declared', essence });
  });

  test.each([undefined, '', '   ', 'json', 'application/', 'application/json garbage'])(
    '%j is no media type',
    (contentType) => {
      expect(matchContentType(contentType, ['application/json'])).toEqual({ kind: 'missing' });
    },
  );
});

test('a response Content-Type reads the same way: essence lower-cased, parameters by lower-case name', () => {
  expect(parseMediaType('Application/Problem+JSON; Charset="UTF-8"')).toEqual({
    essence: 'application/problem+json',
    parameters: { charset: 'UTF-8' },
  });
  expect(mediaTypeOf(['application/json;charset=UTF-8', 'text/html'])).toBe('application/json');
  expect(mediaTypeOf(undefined)).toBe('');
});
