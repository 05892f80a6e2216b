// Progressive enhancement only: every page works without it.
// A form marked data-confirm asks before it is sent (destructive actions).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
