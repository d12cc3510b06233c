"""HTML and plain text cut into article body blocks inside the rich-text whitelist."""

from cms.sanitise import body_blocks_text, html_sanitise, html_to_body_blocks


def test_script_style_and_event_attributes_are_removed():
    # given
    html = (
        '<p onclick="steal()" class="x">Hello <b>bold<script>alert(1)</script></b>'
        "</p><style>p { color: red }</style>"
    )
    # when
    blocks = html_to_body_blocks(html=html)
    # then
    assert blocks == [("paragraph", "<p>Hello <b>bold</b></p>")]


def test_links_keep_only_a_safe_href():
    # given
    html = (
        '<p><a href="javascript:alert(1)">bad</a> and '
        '<a href="https://example.com/?a=1&b=2" title="t" target="_blank">good</a>'
        "</p>"
    )
    # when
    blocks = html_to_body_blocks(html=html)
    # then: the unsafe link is unwrapped, the safe one loses everything but href
    assert blocks == [
        (
            "paragraph",
            '<p>bad and <a href="https://example.com/?a=1&amp;b=2">good</a></p>',
        )
    ]


def test_headings_become_heading_blocks_between_paragraphs():
    # given
    html = "<h1>Main <i>title</i></h1><p>Intro.</p><h3>Part  two</h3><p>More.</p>"
    # when
    blocks = html_to_body_blocks(html=html)
    # then
    assert blocks == [
        ("heading", "Main title"),
        ("paragraph", "<p>Intro.</p>"),
        ("heading", "Part two"),
        ("paragraph", "<p>More.</p>"),
    ]


def test_lists_are_kept_whole_and_block_elements_split_paragraphs():
    # given
    html = (
        "<div>One</div><div>Two <em>it</em></div>\n"
        "<ul>\n  <li>first</li>\n  <li><p>second</p></li>\n</ul>"
        "<ol><li>a<ul><li>b</li></ul></li></ol>"
    )
    # when
    blocks = html_to_body_blocks(html=html)
    # then
    assert blocks == [
        ("paragraph", "<p>One</p>"),
        ("paragraph", "<p>Two <em>it</em></p>"),
        ("paragraph", "<ul><li>first</li><li>second</li></ul>"),
        ("paragraph", "<ol><li>a<ul><li>b</li></ul></li></ol>"),
    ]


def test_formatting_open_across_a_block_break_is_closed_and_reopened():
    # given
    html = "<strong>a<div>b</div>c</strong>"
    # when
    blocks = html_to_body_blocks(html=html)
    # then
    assert blocks == [
        ("paragraph", "<p><strong>a</strong></p>"),
        ("paragraph", "<p><strong>b</strong></p>"),
        ("paragraph", "<p><strong>c</strong></p>"),
    ]


def test_loose_text_and_line_breaks_are_wrapped_and_empty_paragraphs_dropped():
    # given
    html = "Loose text <br>  next line<p> </p><p><b></b><br></p>"
    # when
    blocks = html_to_body_blocks(html=html)
    # then
    assert blocks == [("paragraph", "<p>Loose text<br>next line</p>")]


def test_plain_text_becomes_escaped_paragraphs_split_on_blank_lines():
    # given
    text = (
        'Fish & chips < 3 "quid"\nstill the same paragraph\r\n\r\n  Second one.\n\n\n'
    )
    # when
    blocks = html_to_body_blocks(html=text)
    # then
    assert blocks == [
        ("paragraph", '<p>Fish &amp; chips &lt; 3 "quid" still the same paragraph</p>'),
        ("paragraph", "<p>Second one.</p>"),
    ]


def test_only_script_leaves_no_blocks():
    assert html_to_body_blocks(html="<script>alert(1)</script><style>x</style>") == []


def test_html_sanitise_keeps_whitelist_and_drops_other_tags_content_kept():
    # given
    html = (
        '<p lang="en">a<span style="x">b</span><img src="y.png"><iframe>z</iframe></p>'
    )
    # when
    clean = html_sanitise(html=html)
    # then
    assert clean == "<p>ab</p>"


def test_body_blocks_text_prefers_paragraph_text():
    # given
    blocks = [("heading", "Title"), ("paragraph", "<p>A &amp; <b>B</b></p>")]
    # when / then
    assert body_blocks_text(blocks=blocks) == "A & B"
    assert body_blocks_text(blocks=[("heading", "Only heading")]) == "Only heading"
