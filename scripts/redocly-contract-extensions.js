// Redocly CLI plugin: types the contracts' own top-level extensions, so that Redocly follows the
// `$ref`s in them like any other (the responses they name count as used, and their examples are
// checked). Without it, `x-router-responses` (the router's 404 and 405, read by the mock and the
// harness) is an opaque extension and `no-unused-components` reports the responses it names.
'use strict';

/** The plugin's type extension for OpenAPI 3.x documents. */
function extendOas3(types) {
  return {
    ...types,
    RouterResponses: { properties: {}, additionalProperties: () => 'Response' },
    EmbeddedSchemas: { properties: {}, items: 'Schema' },
    Root: {
      ...types.Root,
      properties: {
        ...types.Root.properties,
        'x-router-responses': 'RouterResponses',
        'x-embedded-schemas': 'EmbeddedSchemas',
      },
    },
  };
}

module.exports = function contractExtensions() {
  return { id: 'procode-contract', typeExtension: { oas3: extendOas3 } };
};
