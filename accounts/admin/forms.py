"""The user admin's add and change forms: each applies the rules of `accounts.services`, so a
form shows the same errors the API gives."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.models import construct_instance

from accounts.models import Role, User
from accounts.services import (
    UPDATABLE_FIELDS,
    user_check_role_change,
    user_check_update,
    user_set_password,
    user_validate,
)
from project.errors import ApplicationError


class _ServiceRulesMixin:
    """Validate with the services' rules instead of ModelForm's own model validation, so that
    the admin accepts exactly what `user_create`/`user_update` accept, and says why not."""

    actor: User | None = None  # set by UserAdmin.get_form: the rules depend on who is asking

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields.get("role")
        if role is not None and self.actor is not None and self.actor.role != Role.SUPER_ADMIN:
            role.choices = [(Role.USER, Role.USER.label)]  # offer only what may be granted

    def _post_clean(self) -> None:
        if self._errors:  # fix the fields first; the rules would repeat their complaints
            return
        try:
            self.instance = construct_instance(self, self.instance, self._service_fields)
            self._check_rules()
        except ApplicationError as exc:
            self._add_errors(exc.errors or {NON_FIELD_ERRORS: [exc.message]})
        except ValidationError as exc:
            self._add_errors(exc.message_dict)

    def _add_errors(self, errors: dict[str, list[str]]) -> None:
        for field, messages_ in errors.items():
            field = {"password": "password1"}.get(field, field)
            self.add_error(field if field in self.fields else None, messages_)

    def _check_rules(self) -> None:
        raise NotImplementedError


class UserAddForm(_ServiceRulesMixin, forms.ModelForm):
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password confirmation",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="The same password again, to catch typing mistakes.",
    )
    _service_fields = ("username", "email", "role")

    class Meta:
        model = User
        fields = ("username", "email", "role")

    def _check_rules(self) -> None:
        password1, password2 = (
            self.cleaned_data.get("password1"),
            self.cleaned_data.get("password2"),
        )
        if password1 and password2 and password1 != password2:
            raise ValidationError({"password2": ["The two password fields didn't match."]})
        user_check_role_change(actor=self.actor, role=self.instance.role)
        self.instance.email = User.objects.normalize_email(self.instance.email)
        user_validate(user=self.instance, password=password1)


class UserChangeForm(_ServiceRulesMixin, DjangoUserChangeForm):
    _service_fields = UPDATABLE_FIELDS

    class Meta:
        model = User
        fields = ("username", "email", "password", "role", "is_active", "groups")

    def _check_rules(self) -> None:
        stored = User.objects.get(pk=self.instance.pk)
        user_check_update(actor=self.actor, user=stored, data=self.changes())
        user_validate(user=self.instance)

    def changes(self) -> dict[str, Any]:
        return {f: self.cleaned_data[f] for f in UPDATABLE_FIELDS if f in self.changed_data}


class PasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saved through `user_set_password`: the password is
    validated and the user's API and admin sessions end. Who may change whose password is the
    admin's change permission (UserAdmin.has_change_permission), checked before the form."""

    def save(self, commit: bool = True) -> User:
        usable = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data["password1"] if usable else None
        return user_set_password(user=self.user, password=password)
