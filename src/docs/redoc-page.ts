/**
 * The Redoc HTML page. Every URL is relative to `/redoc` (so the page also works behind a path prefix) and
 * served by this gateway: the standalone bundle and the document. No web fonts are linked; Redoc falls back to
 * the system's sans-serif fonts.
 * @see https://redocly.com/docs/redoc/deployment/html
 */

/** The page for `GET /redoc`. */
export function redocPage(title: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="openapi.json"></redoc>
<script src="redoc/redoc.standalone.js"></script>
</body>
</html>
`;
}
