from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class VipTier(models.TextChoices):
    NONE = "none", _("Regular")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")
    PLATINUM = "platinum", _("Platinum")


class ContactKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"
