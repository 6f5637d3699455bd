// Starts Swagger UI on the API document. A file of its own, not an inline script, so the page's policy can
// allow scripts from this origin only.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui-container"});
});
