// Search page only: runs pagefind's index in the browser. Results are built with DOM APIs and
// textContent, never innerHTML, so nothing in an indexed page can inject markup here.
const root = new URL("../", import.meta.url);
const form = document.querySelector(".search-form");
const input = document.getElementById("q");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
let pagefind = null;

function decode(text) {
  const map = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#39;": "'", "&#x27;": "'" };
  return text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (m) => map[m] || m);
}

function excerpt(html) {
  const p = document.createElement("p");
  p.className = "hook";
  html.split(/(<mark>|<\/mark>)/).reduce((inMark, part) => {
    if (part === "<mark>") return true;
    if (part === "</mark>") return false;
    const node = inMark ? document.createElement("mark") : document.createTextNode("");
    node.textContent = decode(part.replace(/<[^>]*>/g, ""));
    p.appendChild(node);
    return inMark;
  }, false);
  return p;
}

function card(data) {
  const li = document.createElement("li");
  li.className = "teaser";
  const article = document.createElement("article");
  const h3 = document.createElement("h3");
  const a = document.createElement("a");
  a.href = new URL(data.url, root).href;
  a.textContent = (data.meta && data.meta.title) || data.url;
  h3.appendChild(a);
  article.append(h3, excerpt(data.excerpt || ""));
  li.appendChild(article);
  return li;
}

async function run(query) {
  list.replaceChildren();
  if (!query.trim()) { status.textContent = "Type a word to search every story."; return; }
  status.textContent = "Searching…";
  try {
    if (!pagefind) {
      pagefind = await import(new URL("search/pagefind/pagefind.js", root).href);
      // The index lives in search/pagefind/, so tell pagefind where the site itself starts.
      await pagefind.options({ baseUrl: root.pathname });
    }
    const found = await pagefind.search(query);
    const results = await Promise.all(found.results.slice(0, 20).map((r) => r.data()));
    results.forEach((data) => list.appendChild(card(data)));
    status.textContent = `${found.results.length} result(s) for “${query}”.`;
  } catch (err) {
    status.textContent = "The search index is not available on this copy of the site.";
  }
}

const initial = new URLSearchParams(window.location.search).get("q") || "";
input.value = initial;
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const url = new URL(window.location.href);
  url.searchParams.set("q", input.value);
  window.history.replaceState(null, "", url);
  run(input.value);
});
run(initial);
