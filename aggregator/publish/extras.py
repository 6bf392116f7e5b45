"""Fixed pages (about, subscribe, search, 404), robots.txt and sitemap.xml."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from markupsafe import escape

from aggregator.publish.build import Build, fingerprint
from aggregator.publish.pages import recap_weeks
from aggregator.publish.render import iso_utc


def _link(href: str, label: str, note: str = "", internal: bool = True) -> dict[str, Any]:
    return {"href": href, "label": label, "note": note, "internal": internal}


def _page(
    build: Build,
    path: str,
    heading: str,
    description: str,
    blocks: list[dict],
    search_page: bool = False,
    **extra: Any,
) -> None:
    ctx = {
        "heading": heading,
        "page_title": heading,
        "description": description,
        "blocks": blocks,
        "search_page": search_page,
        **extra,
    }
    build.page(path, fingerprint(repr(sorted(ctx.items(), key=str))), "page.html", ctx)


def about_blocks(build: Build) -> list[dict[str, Any]]:
    """Return the about page, generated from the configuration."""
    config = build.config
    return [
        {"h": "", "p": [config.description]},
        {
            "h": "How the cards are made",
            "p": [
                "Each story starts from one or more articles found in the sources below. A language "
                "model writes a card (headline, hook, 30-second TL;DR and deeper analysis) and cites "
                "the article word for word; a citation that cannot be found in the article is "
                "dropped, and a card whose citations were not all verified says so.",
                "When no language model is configured the card is extractive: sentences taken from "
                "the article, with no AI involved. Every page says which kind of card it shows.",
            ],
        },
        {
            "h": "Topics",
            "p": [],
            "links": [
                _link(f"topics/{t.slug}/index.html", t.name, t.description) for t in config.topics
            ],
        },
        {
            "h": "Sources",
            "p": [],
            "links": [
                _link(f"sources/{s.slug}/index.html", s.name, s.kind) for s in build.data.sources
            ],
        },
        {
            "h": "For tools and content planners",
            "p": ["Everything on this site is also available as JSON, described by a JSON Schema."],
            "links": [
                _link("api/items.json", "api/items.json", "newest stories, links to weeks"),
                _link("api/schema.json", "api/schema.json", "JSON Schema 2020-12"),
            ],
        },
        {
            "h": "Attribution",
            "p": [
                "Articles belong to their original publishers. Each page links to the original "
                "article; please read and support the publishers."
            ],
        },
    ]


def subscribe_blocks(build: Build) -> list[dict[str, Any]]:
    """Return the subscribe page: feeds, per-topic feeds, and email when enabled."""
    config = build.config
    blocks: list[dict[str, Any]] = [
        {
            "h": "Feeds",
            "p": ["Add any of these to a feed reader."],
            "links": [
                _link("feeds/items.xml", "All stories (Atom)"),
                _link("feeds/recaps.xml", "Weekly recaps (Atom)"),
                _link("feeds/recaps.json", "Weekly recaps (JSON Feed)"),
            ],
        },
        {
            "h": "Topic feeds",
            "p": [],
            "links": [_link(f"feeds/topics/{t.slug}.xml", t.name) for t in config.topics],
        },
    ]
    if config.subscribe_email:
        mail = f"mailto:{config.subscribe_email}?subject=subscribe"
        blocks.append(
            {
                "h": "Email",
                "p": ["The weekly recap can also arrive by email."],
                "links": [
                    _link(mail, f"Ask for the recap at {config.subscribe_email}", internal=False)
                ],
            }
        )
    return blocks


def unsubscribe_blocks(build: Build) -> list[dict]:
    """Return what the recap email's unsubscribe link lands on: how leaving works."""
    address = build.config.subscribe_email
    paragraphs = [
        "You followed the unsubscribe link of a weekly recap email. This page is static: "
        "visiting it changes nothing, so a link checker cannot unsubscribe you by accident.",
        "To leave the list, use your mail program's Unsubscribe button next to the sender "
        "(it uses the email's List-Unsubscribe header), or send the email it offers: the "
        "subject holds a token naming your address, and the operator removes that address.",
    ]
    links = []
    if address:
        paragraphs.append(f"Or write to {address} and ask to be removed.")
        links.append(_link(f"mailto:{address}?subject=unsubscribe", f"Write to {address}",
                           internal=False))  # fmt: skip
    return [{"h": "", "p": paragraphs, "links": links}]


def fixed_pages(build: Build) -> None:
    """Write about/, subscribe/, unsubscribe/, search/, 404.html, robots.txt and sitemap.xml."""
    config = build.config
    _page(build, "about/", f"About {config.title}", config.description, about_blocks(build))
    _page(build, "unsubscribe/", "Unsubscribe from the weekly recap",
          "How to stop the recap email.", unsubscribe_blocks(build))  # fmt: skip
    _page(
        build, "subscribe/", "Subscribe", "Feeds and email for this site.", subscribe_blocks(build)
    )
    if config.search:
        _page(
            build,
            "search/",
            "Search",
            "Search every story.",
            [{"h": "", "p": []}],
            search_page=True,
        )
    _page(
        build,
        "404.html",
        "Page not found",
        "This page does not exist.",
        [
            {
                "h": "",
                "p": ["This page does not exist (or no longer does)."],
                "links": [
                    _link("index.html", "Latest stories"),
                    _link("archive/index.html", "Archive"),
                ],
            }
        ],
        # Served for any missing path, so its links start from the site's root path.
        root=urlsplit(config.base_url).path,
    )
    robots = f"User-agent: *\nAllow: /\nSitemap: {config.base_url}sitemap.xml\n"
    build.writer.emit("robots.txt", fingerprint(robots), lambda: robots)
    sitemap(build)


def sitemap(build: Build) -> None:
    """Write sitemap.xml: the fixed pages, lists, recaps and every item with its lastmod."""
    base = build.config.base_url
    fixed = ["", "topics/", "sources/", "archive/", "recaps/", "about/", "subscribe/"]
    paths = fixed + [f"topics/{t.slug}/" for t in build.config.topics]
    paths += [f"sources/{s.slug}/" for s in build.data.sources]
    paths += [f"recaps/{w}/" for w in recap_weeks(build)]
    paths += [f"archive/{w}/" for w in build.weeks]
    fp = fingerprint(paths, [r.fp for r in build.stories])

    def xml() -> str:
        # Built as plain strings: a template loop over 10^4 URLs was most of an incremental
        # build's fixed pages. Every URL is XML-escaped; lastmod values are our own ISO times.
        lines = [_SITEMAP_HEAD]
        lines += [f"<url><loc>{escape(base + p)}</loc></url>" for p in paths]
        lines += [
            f"<url><loc>{escape(base + r.path)}</loc><lastmod>{iso_utc(r.updated_at)}</lastmod></url>"
            for r in build.stories
        ]
        lines.append("</urlset>\n")
        return "\n".join(lines)

    build.writer.emit("sitemap.xml", fp, xml)


_SITEMAP_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
)
