import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# The objects loaded at start-up live as long as the process: keep them out of every garbage
# collection, and collect the young generation less often. Under load, full collections over
# the start-up heap were the largest source of slow answers.
gc.freeze()
gc.set_threshold(50_000, 20, 20)
