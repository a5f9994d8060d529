"""Images as one placeholder: no address of the server a page came from survives, the rest does."""

from __future__ import annotations

from tinyweb.placeholder import PLACEHOLDER, framework_without_site_files, placeholder_images

PAGE = (
    "<!DOCTYPE html>\n<html><head><style>@font-face{font-family:Icons;src:url(http://127.0.0.1:8731/i.woff)}"
    ".a{color:red}</style></head><body>"
    '<img src="http://127.0.0.1:8731/sites/x/a.jpg" srcset="a.jpg 1x, b.jpg 2x" alt="A cake">'
    "<div style='background-image:url(\"http://127.0.0.1:8731/b.jpg\");color:red'>"
    '<a href="http://127.0.0.1:8731/sites/x/about.html">About</a><a href="https://example.com/">Out</a>'
    '<a href="about.html">Here</a><img src="data:image/png;base64,AAAA"></div>'
    '<svg><image href="http://127.0.0.1:8731/c.png"/><g clip-path="url(http://127.0.0.1:8731/sites/x/index.html#c1)">'
    '</g></svg><video poster="/v.jpg"></video></body></html>'
)


def test_every_image_is_the_placeholder_and_no_server_address_is_left():
    out = placeholder_images(PAGE, "http://127.0.0.1:8731/sites/x/index.html")
    assert "127.0.0.1" not in out and "@font-face" not in out and ".a{color:red}" in out
    assert out.count(f'"{PLACEHOLDER}"') == 5  # img src and srcset, the background, svg image, poster
    assert 'alt="A cake"' in out and "color:red" in out  # nothing else changes
    assert 'href="https://example.com/"' in out and 'href="about.html"' in out and 'href="#"' in out
    assert "data:image/png;base64,AAAA" in out and out.startswith("<!DOCTYPE html>")
    assert "clip-path='url(\"#c1\")'" in out  # a reference into the page stays one
    fragment = placeholder_images('<section class="x"><img src="a.png"></section><p>t</p>')
    assert fragment == f'<section class="x"><img src="{PLACEHOLDER}"></section><p>t</p>'
    assert placeholder_images("") == ""


def test_a_shipped_framework_has_no_site_fonts_or_images():
    css = "@font-face{font-family:F;src:url(http://127.0.0.1:8731/f.woff2)}.base-hero{background:url(h.jpg) center}"
    assert framework_without_site_files(css) == f'.base-hero{{background:url("{PLACEHOLDER}") center}}'
