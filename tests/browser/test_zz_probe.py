import pytest
from axe_playwright_python.async_playwright import Axe
from tests.browser.test_accessibility import AXE_OPTIONS, report
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

async def test_probe(page, start_server):
    server = await start_server()
    await page.goto(server.url + "/")
    await page.evaluate("() => { document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>'); document.querySelector('.lead').setAttribute('class', 'hint'); document.querySelector('h1').setAttribute('role', 'button'); }")
    await page.add_style_tag(path="/dev/null")
    r = await Axe().run(page, options=AXE_OPTIONS["light"])
    print(report("light", r.response["violations"]))
