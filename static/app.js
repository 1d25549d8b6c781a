// Progressive enhancement: like buttons update in place. Without JavaScript the same form
// posts to the page route and reloads.
document.addEventListener('submit', async (event) => {
  const form = event.target.closest('form.like-form');
  if (!form) return;
  event.preventDefault();
  const token = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || '';
  try {
    const response = await fetch(form.dataset.api, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRFToken': token, Accept: 'application/json' },
    });
    if (!response.ok) throw new Error(String(response.status));
    const state = await response.json();
    const button = form.querySelector('button');
    form.querySelector('.like-count').textContent = String(state.like_count);
    button.classList.toggle('liked', state.liked);
    button.setAttribute('aria-pressed', String(state.liked));
    button.querySelector('.like-label').textContent = state.liked ? 'Unlike' : 'Like';
  } catch (_) {
    form.submit();
  }
});
