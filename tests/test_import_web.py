"""The import's scope through the JSON API, as the attack of issue 12 came: a township liaison
uploads a row carrying another township's 协议编号 with their own township as destination."""

import aiohttp

from resettle.models import Household, Person
from tests.sheets import make_id, person, write_csv
from tests.test_web import OUT_OF_SCOPE, make_site


async def test_liaison_upload_cannot_take_a_household_out_of_scope(aiohttp_client, db_url, tmp_path):
    site = await make_site(aiohttp_client, db_url, tmp_path)
    auth = {"Authorization": f"Bearer {site.tokens['township']}"}  # 陈家镇's liaison
    before = await Household.get(agreement_no=OUT_OF_SCOPE).values(
        "dest_township", "community_id", "signed_on", "handed_over_on", "version")
    rows = [person(OUT_OF_SCOPE, "冒名", make_id("19900909", 90), "户主", origin="陈家镇", dest="陈家镇",
                   community="陈家新苑", signed="2024-01-01", handed="2024-02-01")]
    form = aiohttp.FormData()
    form.add_field("sheet", write_csv(tmp_path / "attack.csv", rows).read_bytes(), filename="attack.csv")
    response = await site.post("/api/v1/imports", data=form, headers=auth)
    assert response.status == 422
    [issue] = (await response.json())["issues"]
    assert (issue["row"], issue["level"]) == (4, "错误") and "既不从陈家镇迁出" in issue["message"]
    household = await Household.get(agreement_no=OUT_OF_SCOPE)
    assert await Household.filter(agreement_no=OUT_OF_SCOPE).values(
        "dest_township", "community_id", "signed_on", "handed_over_on", "version") == [before]
    assert await Person.filter(household_id=household.id).values_list("name", flat=True) == ["丁"]
    shown = await site.get(f"/api/v1/households/{OUT_OF_SCOPE}", headers=auth)
    assert shown.status == 404
