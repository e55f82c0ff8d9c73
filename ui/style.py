"""How the pages look and behave in the browser: theme, CSS and the little JavaScript.

Colours are chosen for WCAG 2.1 AA contrast (4.5:1 for text, 3:1 for borders
and focus), checked by axe-core in ``tests/test_ui_a11y.py``. The layout is
phone first: one column that reflows at 320 px and 200 % text size, the title
never broken inside a word. The script only adds what Gradio's components cannot
declare themselves: live regions, the language switch's state and ``lang``
attributes, and bringing a new question into view.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

TEAL_700 = "#0f766e"
TEAL_800 = "#115e59"
TEAL_900 = "#134e4a"
FOCUS = "#1d4ed8"

THEME = gr.themes.Soft(
    primary_hue="teal",
    neutral_hue="slate",
    # System fonts only: nothing is fetched from a font service (the server may be offline).
    font=["system-ui", "-apple-system", "Segoe UI", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "monospace"],
).set(
    body_text_color_subdued="*neutral_600",
    body_text_color_subdued_dark="*neutral_300",
    input_placeholder_color="*neutral_500",
    input_placeholder_color_dark="*neutral_400",
    block_label_text_color="*neutral_800",
    block_label_text_color_dark="*neutral_100",
    block_title_text_color="*neutral_800",
    block_title_text_color_dark="*neutral_100",
    block_info_text_color="*neutral_600",
    block_info_text_color_dark="*neutral_300",
    block_label_background_fill="transparent",
    block_label_background_fill_dark="transparent",
    button_primary_background_fill=TEAL_700,
    button_primary_background_fill_hover=TEAL_800,
    button_primary_background_fill_dark=TEAL_700,
    button_primary_background_fill_hover_dark=TEAL_800,
    button_primary_text_color="white",
    button_primary_text_color_dark="white",
    button_secondary_text_color="*neutral_800",
    button_secondary_text_color_dark="*neutral_100",
    button_secondary_border_color="*neutral_500",
    checkbox_label_background_fill_selected=TEAL_700,
    checkbox_label_background_fill_selected_dark=TEAL_700,
    checkbox_label_text_color_selected="white",
    checkbox_label_text_color_selected_dark="white",
    checkbox_border_color="*neutral_500",
    input_border_width="1px",
    input_border_color="*neutral_500",
    input_border_color_focus=TEAL_700,
    button_border_width="1px",
    input_border_color_dark="*neutral_400",
    link_text_color=TEAL_800,
    link_text_color_visited=TEAL_900,
    link_text_color_dark="*primary_300",
    color_accent=TEAL_700,
    color_accent_soft="*primary_100",
    button_secondary_background_fill_hover_dark="*neutral_600",
    button_secondary_text_color_hover_dark="*neutral_50",
)

#: The page's width rules, in the first HTML (``HEAD``) so that nothing is laid out wider
#: first. On a phone Gradio's own 32 px side padding of the page's main column is dropped
#: (the container keeps .75rem): with it, a 320 px window left 232 px for the text, less
#: than the Swedish header's longest word, and the page scrolled sideways by 29 px.
FIRST_PAINT_CSS = """
.gradio-container { max-width: 60rem !important; padding-left: .75rem !important;
  padding-right: .75rem !important; margin-left: auto !important;
  margin-right: auto !important; }
@media (max-width: 480px) {
  .gradio-container .main { padding-left: 0 !important; padding-right: 0 !important; } }
"""

CSS = """
/* --- basics: readable at any width, focus always visible --- */
.visio-html blockquote, .visio-html a, .visio-html .visio-sources { font-size: inherit; }
.visio-sr { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible,
select:focus-visible, [tabindex]:focus-visible, [role=tab]:focus-visible {
  outline: 3px solid #1d4ed8 !important; outline-offset: 2px !important; }
input[type=radio]:focus-visible { outline-offset: 3px !important; }
.visio-source:focus { outline: 3px solid #1d4ed8; outline-offset: 2px;
  border-radius: 4px; }
.visio-html, .visio-html * { overflow-wrap: anywhere; }
#visio-nav a, #visio-footer a, .visio-html a { padding: 0 !important; }
a { text-underline-offset: .15em; }

/* --- header: language switch and service links on top, title never split in a word --- */
#visio-topbar { gap: .5rem; align-items: center; flex-wrap: wrap; }
#visio-nav, #visio-footer { flex: 1 1 12rem; min-width: 0; }
#visio-footer { border-top: 1px solid var(--border-color-primary); padding-top: .6rem;
  margin-top: 1rem; }
#visio-nav ul, #visio-footer ul { list-style: none; display: flex; flex-wrap: wrap;
  gap: .2rem 1rem; margin: 0; padding: 0; font-size: .95rem; }
#visio-langs { flex: 0 0 auto; gap: .35rem; width: auto; min-width: 0; flex-wrap: nowrap; }
#visio-langs button { min-width: 0 !important; flex: 0 0 auto; padding: .3rem .7rem;
  font-size: .95rem; }
#visio-langs button[aria-pressed=true] { background: #0f766e; color: #fff;
  border-color: #0f766e; }
.dark .visio-notice-box { border-color: #2dd4bf; }
.dark { --color-accent: #2dd4bf; }
#visio-header h1 { font-size: clamp(1.4rem, 6vw, 2rem); line-height: 1.2; margin: .2rem 0 .3rem;
  overflow-wrap: normal; word-break: normal; hyphens: manual; }
#visio-header p { margin: 0 0 .4rem; max-width: 48rem; }

/* --- the automated-assistant notice --- */
.visio-notice-box { border: 1px solid #0f766e; border-left-width: 6px; border-radius: 8px;
  padding: .6rem .9rem; background: var(--block-background-fill); }
.visio-notice-box h2 { font-size: 1.05rem; margin: 0 0 .3rem; }
.visio-notice-box p { margin: .25rem 0; }

/* --- the conversation: part of the page, no inner scrolling box --- */
.visio-turns { list-style: none; margin: 0; padding: 0; }
#visio-current:not(:has(.visio-turn)) { display: none; }
.visio-turn { margin: 0 0 1rem; }
.visio-speaker { font-size: .85rem; font-weight: 600; margin: 0 0 .2rem;
  color: var(--body-text-color-subdued); }
.visio-q { margin: 0 0 .6rem auto; max-width: 85%; width: fit-content; }
.visio-question { background: #e6f4f1; color: #1f2937; border-radius: 12px;
  padding: .5rem .8rem; }
.visio-a { border: 1px solid var(--border-color-primary); border-radius: 12px;
  padding: .6rem .9rem; background: var(--block-background-fill); }
.visio-answer p { margin: 0 0 .6rem; }
.visio-pending { font-style: italic; }
.visio-ref { font-weight: 600; text-decoration: none; vertical-align: super; font-size: .8em;
  padding: 0 .1em; }
.visio-sources { margin-top: .6rem; border-top: 1px solid var(--border-color-primary);
  padding-top: .4rem; font-size: .95em; }
.visio-sources-title { font-weight: 600; margin-bottom: .2rem; }
.visio-sources ol { list-style: none; padding-left: 0; margin: 0; }
.visio-source { margin: .45rem 0; padding: .1rem .2rem; }
.visio-source .visio-section, .visio-source .visio-status {
  color: var(--body-text-color-subdued); }
.visio-quote { margin: .25rem 0 .2rem; padding: .2rem .6rem; border-left: 3px solid #0f766e;
  font-style: normal; }
.visio-refusal-contact { margin: .6rem 0 0; }
.visio-empty { color: var(--body-text-color-subdued); margin: .5rem 0; }
mark { background: #fff1a8; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
.dark .visio-question { background: #134e4a; color: #f8fafc; }
.dark mark { background: #fde68a; color: #111827; }
#visio-examples { gap: .4rem; }
#visio-examples button { text-align: left; justify-content: flex-start; white-space: normal;
  height: auto; min-height: 2.75rem; }
#visio-feedback h2, #visio-examples-title h2 { font-size: 1.05rem; margin: 0; }
#visio-feedback .visio-feedback-about { color: var(--body-text-color-subdued); margin: .1rem 0 0; }
#visio-thumbs { gap: .5rem; flex-wrap: wrap; }
#visio-thumbs button { flex: 0 0 auto; min-width: 7rem !important; }

/* --- staff: wording --- */
.visio-link { font-size: 1em; }
.visio-wording .visio-count { margin: .3rem 0 .6rem; font-weight: 600; }
.visio-match { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .6rem .8rem; margin-bottom: .8rem; }
.visio-match-head { display: flex; flex-wrap: wrap; gap: .35rem; align-items: baseline; }
.visio-kind { color: var(--body-text-color-subdued); }
.visio-copy { margin-left: auto; cursor: pointer; border: 1px solid #64748b; border-radius: 6px;
  padding: .15rem .6rem; background: var(--button-secondary-background-fill);
  color: var(--button-secondary-text-color); min-height: 2rem; }
.visio-copy.visio-copied { background: #ccfbf1; color: #134e4a; }
.visio-pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: .8rem;
  margin: .5rem 0; }
@media (max-width: 720px) { .visio-pair { grid-template-columns: minmax(0, 1fr); } }
.visio-passage-lang { font-size: .9em; color: var(--body-text-color-subdued); }
.visio-passage-text { margin: .2rem 0; }
.visio-passage-heading { margin: .2rem 0 .1rem; }
.visio-missing { color: var(--body-text-color-subdued); font-style: italic; }
.visio-notice { padding: .5rem .7rem; border-radius: 6px; background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); }
.visio-status-line:empty { display: none; }

/* --- staff: evaluation and feedback --- */
.visio-scores { border-collapse: collapse; margin: .5rem 0 1rem; display: block;
  overflow-x: auto; max-width: 100%; }
.visio-scores th, .visio-scores td { border: 1px solid var(--border-color-primary);
  padding: .2rem .5rem; text-align: left; vertical-align: top; }
.visio-fail { color: #b00020; font-weight: 600; } .visio-ok { color: #166534; font-weight: 600; }
.dark .visio-fail { color: #fca5a5; } .dark .visio-ok { color: #86efac; }
.visio-eval figure { margin: 0 0 1rem; } .visio-eval figure img { max-width: 100%; height: auto; }

/* --- staff: the evaluator's page --- */
.visio-scores caption { text-align: left; font-weight: 600; padding: .2rem 0; }
.visio-scores small { display: block; color: var(--body-text-color-subdued); }
.visio-progress { display: flex; flex-wrap: wrap; gap: .3rem .6rem; align-items: center; }
.visio-progress progress { flex: 1 1 12rem; min-width: 8rem; height: 1.1rem;
  accent-color: #0f766e; }
.visio-notes ul { margin: .2rem 0 .6rem 1.2rem; padding: 0; }
.visio-loader-message { margin: .3rem 0 0; }
.visio-loader-message code { white-space: pre-wrap; overflow-wrap: anywhere; }
.visio-problem { border-left: 6px solid #b00020; }
.visio-run-title { color: var(--body-text-color-subdued); margin: 0 0 .3rem; }
.visio-report-frame { width: 100%; height: 80vh; border: 1px solid var(--border-color-primary);
  border-radius: 6px; background: #fff; }

/* --- phones --- */
@media (max-width: 480px) {
  .visio-q { max-width: 100%; }
  .visio-a { padding: .5rem .6rem; }
  #visio-thumbs button { min-width: 0 !important; flex: 1 1 40%; }
}
"""

#: In <head>: the width rules before anything is laid out; a script for live regions, the
#: language switch's state and bringing a new question into view.
HEAD = f"<style>{FIRST_PAINT_CSS}</style>" + """
<script>
(() => {
  const live = {
    '#visio-live': ['status', 'polite'],
    '#visio-chat-status': ['status', 'polite'],
    '#visio-search-status': ['status', 'polite'],
    '#visio-runs-set-info': ['status', 'polite'],
    '#visio-runs-status': ['status', 'polite'],
    '#visio-runs-compare-status': ['status', 'polite'],
  };
  function mark() {
    for (const [selector, [role, politeness]] of Object.entries(live)) {
      const element = document.querySelector(selector);
      if (element && element.getAttribute('aria-live') !== politeness) {
        element.setAttribute('role', role);
        element.setAttribute('aria-live', politeness);
        element.setAttribute('aria-atomic', 'true');
      }
    }
    const lang = document.documentElement.lang;
    document.querySelectorAll('#visio-langs button[data-visio-lang], #visio-langs button')
      .forEach((button) => {
        const code = (button.id || '').replace('visio-lang-', '');
        if (!code) { return; }
        if (button.getAttribute('lang') !== code) { button.setAttribute('lang', code); }
        const pressed = String(code === lang);
        if (button.getAttribute('aria-pressed') !== pressed) {
          button.setAttribute('aria-pressed', pressed);
        }
      });
    // Gradio names every radio button of a group differently (radio-1, radio-2, …), so
    // the browser sees groups of one: arrow keys do nothing and screen readers say "1 of
    // 1". One name per group, and the group named by its visible label.
    document.querySelectorAll('fieldset').forEach((group, index) => {
      const radios = group.querySelectorAll('input[type=radio]');
      if (!radios.length) { return; }
      const name = `${group.id || 'visio-group-' + index}-choice`;
      radios.forEach((radio) => { if (radio.name !== name) { radio.name = name; } });
      const info = group.querySelector('[data-testid=block-info]');
      if (info) {
        if (!info.id) { info.id = `${name}-label`; }
        if (group.getAttribute('aria-labelledby') !== info.id) {
          group.setAttribute('aria-labelledby', info.id);
        }
      }
    });
    const current = document.querySelector('#visio-current .visio-turn');
    if (current && current.id && current.dataset.visioShown !== '1') {
      current.dataset.visioShown = '1';
      const reduce = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
      current.scrollIntoView({block: 'nearest', behavior: reduce ? 'auto' : 'smooth'});
    }
  }
  window.visioSetLanguage = (lang) => {
    document.documentElement.lang = lang;
    try { sessionStorage.setItem('visio-lang', lang); } catch (error) { /* private mode */ }
    mark();
  };
  new MutationObserver(mark).observe(document.documentElement,
    {subtree: true, childList: true, attributes: true, attributeFilter: ['lang', 'name']});
  document.addEventListener('DOMContentLoaded', mark);
})();
</script>
"""


def launch_options() -> dict[str, Any]:
    """What every app of ours is launched with: our look, the login page in every
    language, and nothing of Gradio's own (footer, share link, server-side rendering,
    run history, error traces)."""
    from ui.labels import joined

    return {
        "auth_message": joined("login_message"),
        "theme": THEME,
        "css": CSS,
        "head": HEAD,
        "share": False,
        "ssr_mode": False,
        "show_error": False,
        # Gradio's footer speaks the browser's language, not the page's: ours has its own.
        "footer_links": [],
        "run_history": False,
    }
