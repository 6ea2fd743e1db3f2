"""The operator console as an operator uses it, in headless Chromium against a local cloud: sign in as the demo
operator (password and TOTP code; a new operator's first sign-in sets a password and an authenticator app), watch
a checkout go from QUEUED to COMPLETED live, ship its order and refund it (and see the API's problem when the
refund is refused a second time), set stock, redrive a dead letter. Each page is kept as a screenshot."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localcloud.tokens import enrol_totp
from localcloud.totp import totp_code
from tests.e2e.conftest import Api
from tests.support.local_cloud import RunningCloud, run_local_cloud

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ADDRESS = {"name": "Ada Lovelace", "line1": "12 Analytical St", "city": "London", "postalCode": "N1", "country": "GB"}
WAIT_MS = 60_000  # a bound for a broken build, not a timing assertion
ADMISSION_DELAY_SECONDS = "6"  # holds a new checkout QUEUED long enough to be seen so


@pytest.fixture(scope="module")
def cloud() -> Iterator[RunningCloud]:
    yield from run_local_cloud()


@pytest.fixture(scope="module")
def api(cloud: RunningCloud) -> Api:
    return Api(cloud)


@pytest.fixture
def page(chromium: Any, cloud: RunningCloud) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert problems == [], problems  # no script error on any page


def sign_in(page: Any, cloud: RunningCloud) -> None:
    operator = cloud.demo_user("admin")
    page.goto(str(cloud.outputs["ConsoleUrl"]))
    page.fill("input[name=username]", operator["username"])
    page.fill("input[name=password]", operator["password"])
    page.click("#sign-in button[type=submit]")
    answer_challenge(page, "code", totp_code(operator["totpSecret"]))
    page.wait_for_selector("#checkouts-by-status", timeout=WAIT_MS)


def answer_challenge(page: Any, challenge: str, value: str) -> None:
    """Fill and send the sign-in challenge form the console shows (a TOTP code, or a new password)."""
    form = f"#sign-in-challenge[data-challenge={challenge}]"
    page.wait_for_selector(form, timeout=WAIT_MS)
    page.fill(f"{form} input[name=answer]", value)
    page.click(f"{form} button[type=submit]")


def shot(page: Any, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def visit(page: Any, cloud: RunningCloud, route: str) -> None:
    page.goto(f"{cloud.outputs['ConsoleUrl']}/{route}")


def shown_status(page: Any, selector: str, status: str) -> None:
    page.wait_for_selector(f"{selector} [data-status='{status}']", timeout=WAIT_MS)


def queue_urls(cloud: RunningCloud) -> tuple[str, str]:
    urls = cloud.client("sqs").list_queues()["QueueUrls"]
    (queue,) = [u for u in urls if "CheckoutQueue" in u]
    (dead,) = [u for u in urls if "CheckoutDeadLetterQueue" in u]
    return queue, dead


def place_checkout(api: Api, sku: str) -> dict[str, Any]:
    token = api.new_session()
    headers = {"X-Session-Token": token}
    added = api.call("POST", "/cart/lines", json={"sku": sku, "quantity": 1}, headers=headers)
    assert added.status_code == 200, added.text
    accepted = api.call(
        "POST",
        "/checkouts",
        json={"email": "ada@example.com", "shippingAddress": ADDRESS},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert accepted.status_code == 202, accepted.text
    return {**accepted.json(), "token": token}


def pay(api: Api, checkout: dict[str, Any]) -> None:
    current = api.call("GET", f"/checkouts/{checkout['checkoutId']}", headers={"X-Session-Token": checkout["token"]})
    payment = current.json()["payment"]
    confirmed = requests.post(
        f"{api.cloud.outputs['PaymentsApiUrl']}/v1/payment_intents/{payment['intentId']}/confirm",
        data={"payment_method": "pm_card_visa", "client_secret": payment["clientSecret"]},
        timeout=30,
    )
    assert confirmed.status_code == 200, confirmed.text


def test_an_operator_watches_a_sale_refunds_sets_stock_and_redrives(
    page: Any, cloud: RunningCloud, api: Api, artifacts: Path
) -> None:
    product = api.create_product(on_hand=5)
    sku = product["sku"]
    # Given the demo operator signed in: the live view
    sign_in(page, cloud)
    shot(page, artifacts, "01-live-sale")

    # When a customer checks out (its admission held back a few seconds) and the operator opens the checkout
    queue, dead = queue_urls(cloud)
    sqs = cloud.client("sqs")
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"DelaySeconds": ADMISSION_DELAY_SECONDS})
    try:
        checkout = place_checkout(api, sku)
        visit(page, cloud, f"#/checkouts/{checkout['checkoutId']}")
        # Then the page shows it QUEUED, then on its own (no reload) AWAITING_PAYMENT with the workflow's steps
        shown_status(page, "#checkout-status", "QUEUED")
        shot(page, artifacts, "02-checkout-queued")
    finally:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"DelaySeconds": "0"})
    shown_status(page, "#checkout-status", "AWAITING_PAYMENT")
    # And when the customer pays at the provider, the same page turns COMPLETED
    pay(api, checkout)
    shown_status(page, "#checkout-status", "COMPLETED")
    page.wait_for_selector("#execution ol.timeline li", timeout=WAIT_MS)
    assert page.locator("#execution ol.timeline li").count() >= 2
    shot(page, artifacts, "03-checkout-completed")

    # When the operator records its unit shipped, with a carrier and a tracking number, confirming it
    visit(page, cloud, f"#/orders/{checkout['orderId']}")
    shown_status(page, "#order-status", "PAID")
    page.fill(f"#ship-form input[name='ship-{sku}']", "1")
    page.fill("#ship-form input[name=carrier]", "DHL")
    page.fill("#ship-form input[name=trackingNumber]", "JD0146000062")
    page.click("#ship-form button[type=submit]")
    page.click("dialog [data-confirm=yes]")
    # Then the order is FULFILLED, the fulfilment listed with its tracking number, and nothing is left to ship
    shown_status(page, "#order-status", "FULFILLED")
    page.wait_for_selector("text=JD0146000062", timeout=WAIT_MS)
    assert page.locator("#ship-form").count() == 0
    shot(page, artifacts, "04-order-shipped")
    # When the operator refunds the order, confirming the refund
    page.click("button[data-action=refund]")
    page.click("dialog [data-confirm=yes]")
    # Then the order is REFUNDED, with the refund in its history
    shown_status(page, "#order-status", "REFUNDED")
    shot(page, artifacts, "05-order-refunded")
    # And a second refund is refused: the problem shows as the API words it
    page.click("button[data-action=refund]")
    page.click("dialog [data-confirm=yes]")
    problem = page.wait_for_selector("#action-outcome .problem[data-code=INVALID_TRANSITION]", timeout=WAIT_MS)
    assert "409 INVALID_TRANSITION" in problem.inner_text()
    shot(page, artifacts, "06-refund-refused")
    # And cancelling the confirmation changes nothing
    page.click("button[data-action=cancel]")
    page.click("dialog [data-confirm=no]")
    shown_status(page, "#order-status", "REFUNDED")

    # When the operator sets the SKU's stock to 42
    visit(page, cloud, "#/inventory")
    form = page.wait_for_selector(f"form[data-sku='{sku}']", timeout=WAIT_MS)
    form.query_selector("input[name=onHand]").fill("42")
    form.query_selector("button[type=submit]").click()
    page.click("dialog [data-confirm=yes]")
    # Then the page shows it, and so does the API
    page.wait_for_selector(f"[data-field=onHand][data-sku='{sku}']:text-is('42')", timeout=WAIT_MS)
    stock = api.call("GET", f"/admin/inventory/{sku}", headers=api.operator()).json()
    assert stock["onHand"] == 42
    shot(page, artifacts, "07-inventory")

    # When a message sits in the checkout dead-letter queue (the completed checkout: admitting it again is a no-op)
    sqs.send_message(QueueUrl=dead, MessageBody=f'{{"checkoutId":"{checkout["checkoutId"]}"}}')
    visit(page, cloud, "#/queues")
    page.wait_for_selector("[data-dead-letters=checkout]:text-is('1')", timeout=WAIT_MS)
    shot(page, artifacts, "08-queues-dead-letter")
    page.click("button[data-redrive=checkout]")
    page.click("dialog [data-confirm=yes]")
    # Then it is moved back, and the dead-letter queue is empty
    page.wait_for_selector("#redrive-outcome .notice:has-text('1 message moved back to checkout')", timeout=WAIT_MS)
    page.wait_for_selector("[data-dead-letters=checkout]:text-is('0')", timeout=WAIT_MS)
    shot(page, artifacts, "09-queues-redriven")

    # And the checkouts list and the upkeep page show what exists
    visit(page, cloud, "#/checkouts")
    page.wait_for_selector(f"#checkout-results a[href='#/checkouts/{checkout['checkoutId']}']", timeout=WAIT_MS)
    shot(page, artifacts, "10-checkouts")
    # (the upkeep runs every 5 minutes; run it now, as its schedule would)
    ran = cloud.client("lambda").invoke(FunctionName="ReleaseExpiredReservationsFunction", Payload=b"{}")
    assert "FunctionError" not in ran, ran["Payload"].read()
    visit(page, cloud, "#/upkeep")
    page.wait_for_selector("[data-job=release-expired-reservations] table", timeout=WAIT_MS)
    shot(page, artifacts, "11-upkeep")
    visit(page, cloud, "#/orders")
    page.wait_for_selector(f"#order-results a[href='#/orders/{checkout['orderId']}']", timeout=WAIT_MS)
    shot(page, artifacts, "12-orders")


def test_a_new_operator_sets_a_password_and_an_authenticator_app_at_first_sign_in(
    page: Any, cloud: RunningCloud, artifacts: Path
) -> None:
    # Given an operator an administrator just created in the operators' pool, with a temporary password
    cognito, pool = cloud.client("cognito-idp"), cloud.outputs["OperatorUserPoolId"]
    username, temporary = f"op-{uuid.uuid4().hex[:8]}", f"Temporary-{uuid.uuid4().hex[:8]}-1"
    cognito.admin_create_user(
        UserPoolId=pool,
        Username=username,
        TemporaryPassword=temporary,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
    )
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName="admin")
    # When they sign in with it, choose a password, and add the key the console shows to an authenticator app
    page.goto(str(cloud.outputs["ConsoleUrl"]))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", temporary)
    page.click("#sign-in button[type=submit]")
    answer_challenge(page, "new-password", f"Chosen-{uuid.uuid4().hex[:12]}-2")
    secret = page.wait_for_selector("#totp-secret", timeout=WAIT_MS).inner_text().strip()
    shot(page, artifacts, "00-totp-setup")
    # a wrong code is refused, and the form stays for another try
    code = totp_code(secret)
    answer_challenge(page, "setup", f"{(int(code) + 1) % 1_000_000:06d}")
    assert page.wait_for_selector(".problem[role=alert]", timeout=WAIT_MS).inner_text().strip()
    answer_challenge(page, "setup", totp_code(secret))
    # Then they are in, and their next sign-in asks for a code from that app
    page.wait_for_selector("#checkouts-by-status", timeout=WAIT_MS)
    assert cognito.admin_get_user(UserPoolId=pool, Username=username)["UserStatus"] == "CONFIRMED"


def test_a_customer_cannot_use_the_console(page: Any, cloud: RunningCloud) -> None:
    # Given the demo customer (in the customers' pool), When they sign in, Then the operators' pool refuses them
    customer = cloud.demo_user(None)
    page.goto(str(cloud.outputs["ConsoleUrl"]))
    page.fill("input[name=username]", customer["username"])
    page.fill("input[name=password]", customer["password"])
    page.click("#sign-in button[type=submit]")
    alert = page.wait_for_selector(".problem[role=alert]", timeout=WAIT_MS)
    assert alert.inner_text().strip()
    assert page.locator("#nav").is_hidden()


def test_an_operators_pool_user_outside_group_admin_is_refused(page: Any, cloud: RunningCloud) -> None:
    # Given a user of the operators' pool, enrolled in TOTP, but not in group admin
    cognito, outputs = cloud.client("cognito-idp"), cloud.outputs
    username, password = f"outsider-{uuid.uuid4().hex[:8]}", f"Outsider-{uuid.uuid4().hex[:8]}-1"
    cognito.admin_create_user(UserPoolId=outputs["OperatorUserPoolId"], Username=username, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=outputs["OperatorUserPoolId"], Username=username, Password=password, Permanent=True
    )
    secret = enrol_totp(cognito, outputs["OperatorUserPoolClientId"], username, password)
    # When they sign in with their code, Then the console says plainly they are not an operator
    page.goto(str(outputs["ConsoleUrl"]))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#sign-in button[type=submit]")
    answer_challenge(page, "code", totp_code(secret))
    alert = page.wait_for_selector(".problem[role=alert]", timeout=WAIT_MS)
    assert "not an operator" in alert.inner_text()
    assert page.locator("#nav").is_hidden()


def test_a_wrong_password_is_refused(page: Any, cloud: RunningCloud) -> None:
    page.goto(str(cloud.outputs["ConsoleUrl"]))
    page.fill("input[name=username]", "operator")
    page.fill("input[name=password]", "not-the-password-1")
    page.click("#sign-in button[type=submit]")
    alert = page.wait_for_selector(".problem[role=alert]", timeout=WAIT_MS)
    assert alert.inner_text().strip()
    assert page.locator("#nav").is_hidden()


def test_the_api_docs_page_renders_the_openapi_document(page: Any, cloud: RunningCloud, artifacts: Path) -> None:
    # Given the ApiDocsUrl output, When a developer opens it, Then Swagger UI (vendored) shows the API's operations
    page.goto(str(cloud.outputs["ApiDocsUrl"]))
    page.wait_for_selector(".swagger-ui .info .title", timeout=WAIT_MS)
    page.wait_for_selector("#operations-admin-adminListCheckouts", timeout=WAIT_MS)
    shot(page, artifacts, "13-api-docs")
