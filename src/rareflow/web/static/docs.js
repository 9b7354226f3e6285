// Swagger UI over this server's OpenAPI document; a file, not an inline script, so the
// Content-Security-Policy can forbid inline scripts everywhere.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
