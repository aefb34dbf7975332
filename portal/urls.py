"""The portal's pages, one URL module an area, in the order Django tries them."""

from portal import (
    account_urls,
    advertiser_urls,
    agent_urls,
    billing_urls,
    provider_urls,
    report_urls,
)

app_name = "portal"

urlpatterns = [
    *account_urls.urlpatterns,
    *billing_urls.urlpatterns,
    *provider_urls.urlpatterns,
    *report_urls.urlpatterns,
    *agent_urls.urlpatterns,
    *advertiser_urls.urlpatterns,
]
